# syntax=docker/dockerfile:1

# Uplift API image. Build: `docker build -t uplift:local .` (or `docker compose build`).
# Run: `docker run -e DATABASE_URL=postgres://user:pass@host:5432/db -p 4000:4000 uplift:local`.

# ---- build: full install, compile TypeScript, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Dependencies first, so that source changes do not invalidate the npm ci layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled code, production node_modules, runtime data files ----
FROM node:20-bookworm-slim AS runtime
WORKDIR /app

# HOST must be 0.0.0.0 inside a container (the app's default, 127.0.0.1, is unreachable from outside).
# UPLIFT_DATA_DIR only matters when DATABASE_URL is unset (embedded PostgreSQL): it must be writable by `node`.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    UPLIFT_DATA_DIR=/home/node/.uplift

COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules ./node_modules
COPY package.json ./
# Read at runtime relative to the project root (/app).
COPY schema.graphql ./
COPY src/demo/*.yaml ./src/demo/
# The live dashboard at /dashboard: static files served as they are (dist/ holds only the router).
COPY src/dashboard/*.html src/dashboard/*.js src/dashboard/*.css ./src/dashboard/

USER node

EXPOSE 4000

# Liveness only (process answers HTTP). Readiness (database + migrations) is GET /readyz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The server drains and exits 0 on SIGTERM; node runs as PID 1 and receives it directly.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
