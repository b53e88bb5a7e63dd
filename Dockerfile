# Hearth server image: a static binary on distroless, running as a non-root
# user. See docs/operations.md ("Containers"). No Docker engine runs on the
# development machines: server/deploy_test.go checks this file's text (Go
# version, static build, user, health check), not a build.
#
#   docker build -t hearth .
#   docker run -e HEARTH_JWT_SECRET -v hearth-data:/data -p 8080:8080 hearth

# The Go version is go.mod's (the test checks it).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary, which the static distroless image needs.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hearth ./server
# The embedded store's directory, owned by the runtime user (the image has
# no shell to create it); a named volume mounted on /data starts as a copy.
RUN mkdir -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hearth /hearth
COPY --from=build --chown=65532:65532 /out/data /data
# nonroot (65532) in distroless; numeric, so runAsNonRoot can verify it.
USER 65532:65532
ENV HEARTH_ADDR=:8080 \
    HEARTH_DATA_DIR=/data
EXPOSE 8080
# No shell or curl here: the binary probes its own /healthz (the port of
# HEARTH_ADDR); `hearth healthcheck` gives up after 3 s, before Docker does.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/hearth", "healthcheck"]
ENTRYPOINT ["/hearth"]
