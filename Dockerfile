# evidence: a static binary on a distroless, non-root base.
#   docker build -t evidence:dev .
#   docker run --rm -v evidence-data:/data evidence:dev export --state /data/state/contoso --out /data/bundles/contoso ...
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/evidence ./cmd/evidence

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/evidence /usr/local/bin/evidence
USER nonroot:nonroot
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/evidence"]
CMD ["--help"]
