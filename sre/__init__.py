"""The reliability toolkit: bundle, deploy, rollback, local environment, drill, monitor, SLA.

Runs beside the service, never inside it: nothing in shortener/ imports this package.
"""
