from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("agency_code", "application_id", "service_version", "contact", "declared_services")
    AGENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    DECLARED_SERVICES_FIELD_NUMBER: _ClassVar[int]
    agency_code: str
    application_id: str
    service_version: str
    contact: str
    declared_services: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, agency_code: _Optional[str] = ..., application_id: _Optional[str] = ..., service_version: _Optional[str] = ..., contact: _Optional[str] = ..., declared_services: _Optional[_Iterable[str]] = ...) -> None: ...
