"""The remote write/read messages as protobuf classes, built here from the field numbers the
specifications publish (our own description, no generated code or .proto copied): the
reference the hand-written decoders and encoders are checked against."""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
_T = {"double": F.TYPE_DOUBLE, "int64": F.TYPE_INT64, "uint64": F.TYPE_UINT64, "uint32": F.TYPE_UINT32,
      "string": F.TYPE_STRING, "sint32": F.TYPE_SINT32, "sint64": F.TYPE_SINT64, "enum": F.TYPE_ENUM,
      "msg": F.TYPE_MESSAGE}

# message → [(name, number, type, repeated, type name for enum/msg)]
V1 = {
    "WriteRequest": [("timeseries", 1, "msg", True, "TimeSeries"), ("metadata", 3, "msg", True, "MetricMetadata")],
    "TimeSeries": [("labels", 1, "msg", True, "Label"), ("samples", 2, "msg", True, "Sample"),
                   ("exemplars", 3, "msg", True, "Exemplar"), ("histograms", 4, "msg", True, "Histogram")],
    "Label": [("name", 1, "string", False, None), ("value", 2, "string", False, None)],
    "Sample": [("value", 1, "double", False, None), ("timestamp", 2, "int64", False, None)],
    "Exemplar": [("labels", 1, "msg", True, "Label"), ("value", 2, "double", False, None),
                 ("timestamp", 3, "int64", False, None)],
    "Histogram": [("count_int", 1, "uint64", False, None), ("sum", 3, "double", False, None),
                  ("schema", 4, "sint32", False, None), ("timestamp", 15, "int64", False, None)],
    "MetricMetadata": [("type", 1, "enum", False, "MetricType"), ("metric_family_name", 2, "string", False, None),
                       ("help", 4, "string", False, None), ("unit", 5, "string", False, None)],
    "ReadRequest": [("queries", 1, "msg", True, "Query"), ("accepted_response_types", 2, "enum", True, "ResponseType")],
    "Query": [("start_timestamp_ms", 1, "int64", False, None), ("end_timestamp_ms", 2, "int64", False, None),
              ("matchers", 3, "msg", True, "LabelMatcher"), ("hints", 4, "msg", False, "ReadHints")],
    "LabelMatcher": [("type", 1, "enum", False, "MatchType"), ("name", 2, "string", False, None),
                     ("value", 3, "string", False, None)],
    "ReadHints": [("step_ms", 1, "int64", False, None), ("func", 2, "string", False, None),
                  ("start_ms", 3, "int64", False, None), ("end_ms", 4, "int64", False, None)],
    "ReadResponse": [("results", 1, "msg", True, "QueryResult")],
    "QueryResult": [("timeseries", 1, "msg", True, "TimeSeries")],
}
V1_ENUMS = {
    "MetricType": ["UNKNOWN", "COUNTER", "GAUGE", "HISTOGRAM", "GAUGEHISTOGRAM", "SUMMARY", "INFO", "STATESET"],
    "ResponseType": ["SAMPLES", "STREAMED_XOR_CHUNKS"],
    "MatchType": ["EQ", "NEQ", "RE", "NRE"],
}
V2 = {
    "Request": [("symbols", 4, "string", True, None), ("timeseries", 5, "msg", True, "TimeSeries")],
    "TimeSeries": [("labels_refs", 1, "uint32", True, None), ("samples", 2, "msg", True, "Sample"),
                   ("histograms", 3, "msg", True, "Histogram"), ("exemplars", 4, "msg", True, "Exemplar"),
                   ("metadata", 5, "msg", False, "Metadata"), ("created_timestamp", 6, "int64", False, None)],
    "Sample": [("value", 1, "double", False, None), ("timestamp", 2, "int64", False, None),
               ("start_timestamp", 3, "int64", False, None)],
    "Exemplar": [("labels_refs", 1, "uint32", True, None), ("value", 2, "double", False, None),
                 ("timestamp", 3, "int64", False, None)],
    "Metadata": [("type", 1, "enum", False, "MetricType"), ("help_ref", 3, "uint32", False, None),
                 ("unit_ref", 4, "uint32", False, None)],
    "Histogram": [("count_int", 1, "uint64", False, None), ("sum", 3, "double", False, None),
                  ("schema", 4, "sint32", False, None), ("timestamp", 15, "int64", False, None)],
}
V2_ENUMS = {"MetricType": ["METRIC_TYPE_UNSPECIFIED", "METRIC_TYPE_COUNTER", "METRIC_TYPE_GAUGE",
                           "METRIC_TYPE_HISTOGRAM", "METRIC_TYPE_GAUGEHISTOGRAM", "METRIC_TYPE_SUMMARY",
                           "METRIC_TYPE_INFO", "METRIC_TYPE_STATESET"]}


def _file(name: str, package: str, messages: dict, enums: dict) -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3")
    for enum, values in enums.items():
        e = fd.enum_type.add(name=enum)
        for i, v in enumerate(values):
            e.value.add(name=v, number=i)
    for msg, fields in messages.items():
        m = fd.message_type.add(name=msg)
        for fname, num, kind, repeated, type_name in fields:
            f = m.field.add(name=fname, number=num, type=_T[kind],
                            label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if type_name:
                f.type_name = f".{package}.{type_name}"
    return fd


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file("weir_test_remote_v1.proto", "prometheus", V1, V1_ENUMS))
_pool.Add(_file("weir_test_remote_v2.proto", "io.prometheus.write.v2", V2, V2_ENUMS))


def cls(full_name: str):
    return message_factory.GetMessageClass(_pool.FindMessageTypeByName(full_name))


WriteRequest = cls("prometheus.WriteRequest")
ReadRequest = cls("prometheus.ReadRequest")
ReadResponse = cls("prometheus.ReadResponse")
RequestV2 = cls("io.prometheus.write.v2.Request")
