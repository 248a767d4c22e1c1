"""The lab's Critical Path Messaging Server: control command, configuration service, webmail."""

CPMS_BUILD = "6.7.19"
