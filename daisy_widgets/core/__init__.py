"""Middleware: algorithms, workflows, engines and the data store (no technique knowledge)."""

from .algorithm import Algorithm, RunContext
from .errors import Cancelled, DaisyError, InputFileError, StepError, ValidationError
from .params import Bool, Choice, FilePath, Float, Int, IntList, Param, Port, Split, Text

__all__ = [
    "Algorithm",
    "RunContext",
    "Cancelled",
    "DaisyError",
    "InputFileError",
    "StepError",
    "ValidationError",
    "Bool",
    "Choice",
    "FilePath",
    "Float",
    "Int",
    "IntList",
    "Param",
    "Port",
    "Split",
    "Text",
]
