"""Where does the server spend its time under load? A run with py-spy sampling its stacks."""
