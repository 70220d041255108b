# Fathom OS: one process (webhook server, workers, Slack Socket Mode, scheduler).
# Build: docker build -t fathom-os .   Run: see compose.yaml and docs/deploy.md
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir "setuptools>=68" wheel
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY services ./services
COPY handlers ./handlers
COPY blocks ./blocks
COPY os_templates ./os_templates
RUN pip wheel --no-cache-dir --no-build-isolation --no-deps -w /wheels .

FROM python:3.11-slim
# git: the OS is a git repository; curl-free HEALTHCHECK uses Python itself
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 fathom
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/*.whl)[postgres]" && rm -rf /wheels
USER fathom
WORKDIR /home/fathom
ENV DATABASE_URL=sqlite+aiosqlite:////home/fathom/data/fathom_os.sqlite3 \
    OS_REPO_PATH=/home/fathom/os \
    WEBHOOK_HOST=0.0.0.0 \
    WEBHOOK_PORT=8080 \
    LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
RUN git config --global user.name "Fathom OS" && git config --global user.email "fathom-os@localhost" \
    && mkdir -p /home/fathom/data /home/fathom/os
VOLUME ["/home/fathom/data", "/home/fathom/os"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os,urllib.request,sys; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"WEBHOOK_PORT\",\"8080\")}/healthz', timeout=4); sys.exit(0)"
CMD ["fathom-os", "run"]
