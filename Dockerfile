# Hearth server image. Not exercised by the test suite (no Docker engine runs
# on the development machines); kept minimal and checked by hand.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hearth ./server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hearth /hearth
USER nonroot
EXPOSE 8080
ENV HEARTH_ADDR=:8080
ENTRYPOINT ["/hearth"]
