"""Folio as a service: an HTTP API (FastAPI) over a job queue (RQ on Redis) and worker pools.

Same floor as `workbench/`: it calls `pipelines`, never the store's internals. The API never
processes documents and the workers never write the database: workers stage result bundles in
the workspace, and the one loader (run by the API process, serialised across replicas by the
workspace's loader lock) moves them into DuckDB.
"""
