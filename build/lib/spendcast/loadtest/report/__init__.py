"""What does a result directory say? One self-contained HTML page for any of them."""
