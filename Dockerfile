# syntax=docker/dockerfile:1
# Multi-stage build: compile with the full toolchain, run on a slim image as
# an unprivileged user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY benches ./benches
COPY examples ./examples
# .git is not in the build context: pass the commit for `--version`, e.g.
# --build-arg PASSBRIDGE_BUILD_COMMIT=$(git rev-parse --short HEAD) ("unknown" otherwise).
ARG PASSBRIDGE_BUILD_COMMIT
ARG SOURCE_DATE_EPOCH
RUN cargo build --release --locked --bin passbridge

# libcrypt1 (libxcrypt) is already in the base image (perl-base needs it);
# named so that the bcrypt binding never loses its library.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libcrypt1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/passbridge --create-home passbridge
COPY --from=build /src/target/release/passbridge /usr/local/bin/passbridge
USER passbridge
WORKDIR /var/lib/passbridge
ENV PASSBRIDGE_LISTEN=0.0.0.0:8080 \
    PASSBRIDGE_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["passbridge"]
CMD ["serve"]
