# VRAM Insight: build the static site, then serve it with nginx on port 8080.
#
#   docker build -t vram-insight:0.1.0 .
#   docker run --rm -p 8080:8080 --read-only --tmpfs /tmp vram-insight:0.1.0
#
# Stage 1 runs exactly the build command of netlify.toml and the README's Deploy section
# (a test keeps them equal); stage 2 is nginx:stable with deploy/nginx.conf, which is
# rendered from the header rules in sitegen/headers.py. Docker cannot run on the machines this
# project is developed on, so this file is checked by tests/deploy/test_deploy_files.py,
# its nginx.conf by a real nginx (tests/deploy/test_nginx.py) and the runtime (uid 101,
# read-only root, tmpfs /tmp) by tests/deploy/test_container.py, not by `docker build`.

# Node 20 comes from the official image; only its binary and npm are copied over.
FROM node:20-bookworm-slim AS node

FROM python:3.11-slim-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && node --version && npm --version
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# A fixed build date gives byte-identical output for one commit (build.py reads it).
ARG SOURCE_DATE_EPOCH=1767225600
ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}
WORKDIR /src
COPY . .
RUN pip install --require-hashes -r requirements/site.lock && npm ci && python build.py --strict

# nginx:stable has no build of ngx_brotli, so the container sends the build's name.gz files
# (gzip_static); Debian's nginx with libnginx-mod-http-brotli-static sends the smaller .br
# with a config rendered by `python deploy/nginx_conf.py --brotli-module`.
FROM nginx:stable AS serve
# Only our config: no default server, no welcome page.
RUN rm -f /etc/nginx/conf.d/default.conf && rm -rf /usr/share/nginx/html/*
COPY deploy/nginx.conf /etc/nginx/nginx.conf
COPY --from=build /src/public /usr/share/nginx/html
# The image's unprivileged nginx user (uid 101): nginx.conf has no `user` directive, listens
# on 8080 and writes only under /tmp, so the root filesystem can be read-only.
USER 101:101
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
