"""The torch side begins here: unit modules and builders (`nn`), lowering a checked network to
torch.fx (`lower`), and export to standalone Python or ONNX (`export`)."""
