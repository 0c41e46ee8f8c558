from spendcast.cli import main

main()
