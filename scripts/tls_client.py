#!/usr/bin/python3
"""A TLS client for this server written with Debian's python3-grpcio alone (no generated
stubs: the two messages it needs are encoded by hand). It checks that a client outside
Node's TLS stack can reach the server with the server's CA, and under mutual TLS only with
a client certificate.

  /usr/bin/python3 scripts/tls_client.py --target 127.0.0.1:8001 --ca ca.pem \
      [--cert client.pem --key client.key] [--api-key KEY] [--model simple] \
      [--expect-fail UNAVAILABLE]

Prints one line per call; exits 0 when the outcome is the expected one, 1 otherwise.
"""

import argparse
import sys

import grpc

SERVICE = "/inference.GRPCInferenceService/"


def string_field(number, text):
    data = text.encode("utf-8")
    if len(data) > 127:
        raise ValueError("names longer than 127 bytes are not needed here")
    return bytes([(number << 3) | 2, len(data)]) + data


def read_fields(data):
    """Yields (field number, wire type, value) for the varint and length-delimited fields."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 2:
            size, i = varint(data, i)
            value, i = data[i:i + size], i + size
        else:
            raise ValueError("unexpected wire type %d" % wire)
        yield number, wire, value


def varint(data, i):
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--api-key")
    p.add_argument("--model", default="simple")
    p.add_argument("--expect-fail", metavar="CODE", help="expect the first call to fail with this status name")
    a = p.parse_args()

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    creds = grpc.ssl_channel_credentials(
        root_certificates=read(a.ca),
        private_key=read(a.key) if a.key else None,
        certificate_chain=read(a.cert) if a.cert else None,
    )
    metadata = (("authorization", "Bearer " + a.api_key),) if a.api_key else ()
    with grpc.secure_channel(a.target, creds) as channel:
        identity = lambda b: b
        live = channel.unary_unary(SERVICE + "ServerLive", request_serializer=identity, response_deserializer=identity)
        meta = channel.unary_unary(SERVICE + "ModelMetadata", request_serializer=identity, response_deserializer=identity)
        try:
            reply = live(b"", timeout=10, metadata=metadata)
            is_live = any(n == 1 and v == 1 for n, _, v in read_fields(reply))
            print("ServerLive live=%s" % is_live)
            reply = meta(string_field(1, a.model), timeout=10, metadata=metadata)
            name = next((v.decode() for n, w, v in read_fields(reply) if n == 1 and w == 2), "")
            print("ModelMetadata name=%s" % name)
        except grpc.RpcError as e:
            code = e.code().name
            print("failed %s: %s" % (code, e.details()))
            return 0 if a.expect_fail == code else 1
        if a.expect_fail:
            print("expected %s, but the calls succeeded" % a.expect_fail)
            return 1
        return 0 if is_live and name == a.model else 1


if __name__ == "__main__":
    sys.exit(main())
