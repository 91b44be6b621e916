# syntax=docker/dockerfile:1
# Multi-stage: compile with dev dependencies, ship production dependencies only.
# The base image is pinned to the exact Node release the tests run on (node@24 in package.json);
# pin it by digest as well in your own build pipeline.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the node@24 dev dependency's installer is not needed inside a Node image.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=0:0 /app/node_modules ./node_modules
COPY --from=build --chown=0:0 /app/dist ./dist
COPY --chown=0:0 package.json ./
# Files owned by root and read-only for the process: works with readOnlyRootFilesystem.
USER 65532:65532
EXPOSE 8080 8081
# Node itself is PID 1 and handles SIGTERM (graceful drain, Lease release); no init needed,
# the operator starts no child processes.
ENTRYPOINT ["node", "dist/main.js"]
