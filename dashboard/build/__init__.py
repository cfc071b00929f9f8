"""The Build page's parts: the network diagram, the FC-as-convolution panel, whole-number fields."""
