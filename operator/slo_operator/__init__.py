"""slo-operator: SLOs and SLAs as Kubernetes resources, with honest error budgets."""

__version__ = "0.1.0"
GROUP = "slo.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
