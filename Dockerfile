# Rill in a container: `docker build -t rill .` then
#   docker run -p 9092:9092 -p 9644:9644 -v rill-data:/var/lib/rill rill
# Settings come as KAFKA_-style environment variables, as in Apache Kafka's
# image: KAFKA_LOG_RETENTION_MS=3600000 sets log.retention.ms ("_" is ".",
# "__" is "_", "___" is "-"); docs/configuration.md has every key.

# Build: a static binary (no cgo), version stamped as `make release` does.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/rillmq/rill/internal/version.Version=${VERSION} -X github.com/rillmq/rill/internal/version.Commit=${COMMIT}" \
      -o /out/rill ./cmd/rill

# Run: alpine for a shell and wget (the health check); the broker runs as
# an unprivileged user that owns only the data volume.
FROM alpine:3.22
RUN addgroup -S rill && adduser -S -G rill -H -h /var/lib/rill rill \
 && mkdir -p /var/lib/rill && chown rill:rill /var/lib/rill
COPY --from=build /out/rill /usr/local/bin/rill
USER rill
VOLUME /var/lib/rill
# Inside the container the broker listens on every interface; what clients
# are told to dial is KAFKA_ADVERTISED_LISTENERS (default: localhost:9092,
# right for `docker run -p 9092:9092`).
ENV KAFKA_LISTENERS=PLAINTEXT://:9092 \
    KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:9092 \
    KAFKA_ADMIN_LISTENERS=0.0.0.0:9644
EXPOSE 9092 9644
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:9644/health/ready || exit 1
# SIGTERM is a clean shutdown (the clean-shutdown marker spares the next
# start a recovery scan); give it time before SIGKILL: docker stop -t 60.
STOPSIGNAL SIGTERM
ENTRYPOINT ["rill", "serve", "--data-dir", "/var/lib/rill"]
