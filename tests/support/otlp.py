"""OTLP receivers on 127.0.0.1 (HTTP/protobuf and gRPC) that decode what refnova exports."""

import gzip
import threading
import time
import zlib
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from refnova.tracing import files as tracefiles


class _Collected:
    def __init__(self):
        self.requests = []  # (headers dict, ExportTraceServiceRequest)
        self._changed = threading.Condition()

    def add(self, headers, request):
        with self._changed:
            self.requests.append((headers, request))
            self._changed.notify_all()

    def records(self):
        with self._changed:
            requests = [request for _headers, request in self.requests]
        return [
            record
            for request in requests
            for record in tracefiles.from_otlp_json(MessageToDict(request))
        ]

    def wait_for(self, predicate, timeout=15.0):
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        "the OTLP receiver did not get the expected spans in %ss" % timeout
                    )
                self._changed.wait(remaining)


class OtlpHttpReceiver(_Collected):
    """An OTLP/HTTP (protobuf) receiver on 127.0.0.1: POST /v1/traces."""

    def __init__(self):
        super().__init__()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if (
                    self.path != "/v1/traces"
                    or self.headers.get("Content-Type") != "application/x-protobuf"
                ):
                    self.send_response(404)
                    self.end_headers()
                    return
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                receiver.add({k.lower(): v for k, v in self.headers.items()}, request)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def close(self):
        self._server.shutdown()
        self._server.server_close()


class OtlpGrpcReceiver(_Collected):
    """An OTLP/gRPC receiver on 127.0.0.1 (TraceService/Export)."""

    def __init__(self):
        super().__init__()
        receiver = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                receiver.add(dict(context.invocation_metadata()), request)
                return trace_service_pb2.ExportTraceServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def close(self):
        self._server.stop(0)
