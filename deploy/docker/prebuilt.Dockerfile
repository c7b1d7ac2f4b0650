# Userhub image assembled from a static binary built on the host.
#
# Used by `cargo xtask image` where no registry is reachable: the build
# context is a staging directory prepared by xtask
# (`<target-dir>/image-context/rootfs/`: usr/local/bin/userhub built with
# `cargo build --release --target x86_64-unknown-linux-musl` and stripped, the host's CA
# bundle and passwd/group for uid/gid 65532; `<target-dir>/image-context/data/`
# is the empty, writable data directory).
# Nothing is pulled: the only base is `scratch`. The final stage matches
# deploy/docker/Dockerfile line for line.

FROM scratch AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE=https://github.com/userhub/userhub
COPY rootfs/ /
COPY --chown=65532:65532 data/ /data/
# --- shared runtime settings: identical in Dockerfile and prebuilt.Dockerfile (checked by `cargo xtask lint_delivery`) ---
LABEL org.opencontainers.image.title="userhub" \
      org.opencontainers.image.description="Userhub users-and-items service (api, web, migrate)" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}"
ENV USERHUB_BIND=0.0.0.0:8000 \
    USERHUB_ADMIN_BIND=0.0.0.0:9464 \
    USERHUB_DATA_DIR=/data
USER 65532:65532
EXPOSE 8000 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/userhub", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/userhub"]
CMD ["api"]
