"""The version of cnnlab's JSON forms (spec files, summaries, run exports), defined where reading it
costs no import of torch; raised on an incompatible change."""

JSON_SCHEMA_VERSION = 1
