"""The DuckDB workspace: its folder, the staging area workers write, the schema and views, the one
loader, corrections and the read-only queries the app, the CLI and analysts run."""
