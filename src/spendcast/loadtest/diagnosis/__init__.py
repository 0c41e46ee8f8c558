"""Why is it slow? The figures watched on both sides of a load test and the verdict they give.

``figures`` holds the types (a step's figures, a process's use, the knee's samples, the
diagnosis), ``verdict`` decides (pure logic, no I/O), ``evidence`` says why in words,
``processes`` and ``metrics`` watch a local server's processes or a remote server's Prometheus
``process_*`` metrics, ``watcher`` samples them with the load generator's processes during a
run, ``sampling`` runs py-spy at the knee, ``joined`` joins them for ``capacity`` and
``loadtest``, ``display`` prints the verdict. See docs/diagnosis.md.
"""
