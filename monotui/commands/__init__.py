"""The `monotui` commands, one module each: `register(subparsers)` adds its parser and sets
`run(args) -> exit code` as the parser's default. `monotui.cli` lists them in `COMMANDS`."""
