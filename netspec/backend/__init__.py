"""The torch side begins here: unit modules and builders (`nn`), lowering a checked network to
torch.fx (`lower`), export to standalone Python or ONNX (`export`), and the library API's torch
half on a compiled spec (`api`: `netspec.lower` and `netspec.export`)."""
