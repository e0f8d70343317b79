"""The language: source text and spans, the AST, the lark parser and its errors, the printer.

Torch-free. `grammar/netspec.lark` at the top of the repository is the one grammar file.
"""
