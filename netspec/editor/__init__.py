"""Editor support for `.net` files: syntax highlighting (Pygments, TextMate) from the grammar."""
