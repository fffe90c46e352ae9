# syntax=docker/dockerfile:1
# One static, non-root image per program of guanxi, from one Dockerfile:
#   docker build --build-arg PROGRAM=customer -t ghcr.io/guanxi-crm/guanxi-customer .
# `make images` builds them all where a container engine exists; `make
# images-check` builds the same binaries the same way (CGO_ENABLED=0) and
# checks they are static and that this file names each program.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY . .
ARG PROGRAM
ARG VERSION=dev
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    case "$PROGRAM" in \
      customer) pkg=./services/customer/cmd/customer ;; \
      interaction) pkg=./services/interaction/cmd/interaction ;; \
      loyalty) pkg=./services/loyalty/cmd/loyalty ;; \
      segmentation) pkg=./services/segmentation/cmd/segmentation ;; \
      notification) pkg=./services/notification/cmd/notification ;; \
      access) pkg=./services/access/cmd/access ;; \
      gateway) pkg=./gateway/cmd/gateway ;; \
      cli) pkg=./cmd/guanxi ;; \
      *) echo "PROGRAM must be one of the programs above, not '$PROGRAM'" >&2; exit 1 ;; \
    esac && \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/guanxi-crm/guanxi/platform/version.Version=$VERSION" \
      -o /out/program "$pkg"

# distroless static: no shell, no package manager, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/program /usr/local/bin/guanxi
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/guanxi"]
