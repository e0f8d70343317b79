"""Compile a zoo spec with the library API (`import netspec`, nothing else), walk its IR, and
catch a spec with an error.

    python examples/compile_and_inspect.py                   # specs/cnn.net
    python examples/compile_and_inspect.py specs/residual.net depth=4

The first argument is a .net file; the others override top-level `let`s, like `--set` does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import netspec

ZOO = Path(__file__).resolve().parent.parent / "specs"

# `dense` needs a flat input, but the image is [1, 8, 8]: compiling this raises NetspecError.
BROKEN = """\
network broken {
    input image: [1, 8, 8]
    input digit: class(10)
    y = image -> conv2d(16, 3, pad=1) -> relu -> dense(10)
    loss cross_entropy(y, digit)
}
"""


def describe(graph: netspec.Graph) -> None:
    """Each node in dependency order: its inputs, output type, parameters and equation."""
    print(f"network {graph.name}: {netspec.total_params(graph):,} parameters")
    for node_id in graph.topo_order():
        node = graph.node(node_id)
        inputs = ", ".join(graph.inputs_of(node_id))
        line = f"  {node.role.value:<6} {node.id:<24} {node.kind:<14} {node.type!s:<14}"
        if node.role is netspec.Role.UNIT:
            line += f" {node.meta['params']:>7,} params  <- {inputs}"
        elif node.role is not netspec.Role.INPUT:
            line += f"                 <- {inputs}"
        print(line.rstrip())
    print("equations:")
    for node in graph.nodes():
        text = netspec.equation(graph, node)
        if text is not None:
            print(f"  {text}")


def main(argv: list[str]) -> int:
    spec = Path(argv[0]) if argv else ZOO / "cnn.net"
    overrides = dict(arg.split("=", 1) for arg in argv[1:])
    try:
        compiled = netspec.compile_file(spec, overrides)
    except netspec.NetspecError as exc:  # every diagnostic of the spec, with source excerpts
        print(netspec.render_text(exc.diagnostics, exc.sources), file=sys.stderr)
        return 1
    for graph in compiled.networks.values():
        describe(graph)
        print()

    print("compiling a spec with a shape error:")
    try:
        netspec.compile(BROKEN, "broken.net")
    except netspec.NetspecError as exc:
        print(netspec.render_text(exc.diagnostics, exc.sources))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
