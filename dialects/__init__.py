"""scalc's MLIR dialects, defined with xDSL: ``nn`` (plain tensor ops) and the helpers
that build an xDSL context able to parse and print them (``scalc.dialects.context``)."""
