# syntax=docker/dockerfile:1
# The operator image: `slo-operator run` as a non-root numeric user, no compiler or build tool,
# and nothing written outside /tmp, so it runs with readOnlyRootFilesystem (the chart mounts an
# emptyDir at /tmp and another for the webhook certificates).
#
#   docker build -t slo-operator:0.1.0 .
#
# There is no container engine in CI: tests/e2e/test_dockerfile.py replays these instructions
# (the RUN steps, ENV, USER, WORKDIR, ENTRYPOINT) into a temporary root and runs the entry point
# as uid 65532 on a tree it cannot write; it also checks that the chart agrees with EXPOSE and
# ENTRYPOINT. Pin PYTHON_IMAGE by digest in a release pipeline.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
# Wheels of the operator and of every dependency, then a virtualenv holding only them (no pip,
# no setuptools): the final stage copies the virtualenv and nothing else.
RUN pip wheel --wheel-dir /wheels .
RUN python -m venv --without-pip /opt/slo-operator \
 && pip --python /opt/slo-operator/bin/python install --no-index --find-links /wheels slo-operator

FROM ${PYTHON_IMAGE}
# The same base image as the builder, so the virtualenv's interpreter link stays valid.
COPY --from=builder /opt/slo-operator /opt/slo-operator
# Bytecode was compiled at install time; nothing is written at run time. HOME and the working
# directory are /tmp, the only writable mount, for any library that keeps a cache. USER: the
# numeric user has no /etc/passwd entry, and kopf names its identity with getpass.getuser(),
# which reads $USER first and fails on the passwd lookup without it.
ENV PATH=/opt/slo-operator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    USER=slo-operator
WORKDIR /tmp
USER 65532:65532
# health (/healthz), metrics (/metrics), admission webhook: the chart's defaults.
EXPOSE 8080 9090 9443
ENTRYPOINT ["slo-operator", "run"]
