# The resolver service: watches the cluster's pods and serves their workloads.
#   docker build -t luapy-resolver .
#   kubectl apply -f deploy/
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY grammar grammar
COPY luapy luapy
COPY resolver resolver
# PyYAML brings libyaml for YAML pod input; everything else is pure Python.
RUN pip install ".[yaml]" \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/resolver --create-home resolver \
    && rm -rf /src

WORKDIR /var/lib/resolver
USER 10001:10001
VOLUME ["/var/lib/resolver"]
EXPOSE 8080

ENTRYPOINT ["resolver"]
CMD ["serve", "--kubernetes", "--listen", "0.0.0.0:8080", "--store", "/var/lib/resolver/plugins.db"]
