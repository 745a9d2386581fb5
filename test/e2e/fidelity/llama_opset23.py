# RUN: %python %s
# REQUIRES: python-ml
# Training fidelity against float64 (test/helpers/fidelity.py) of a Llama
# exported at opset 23, where attention is ONNX's Attention op with
# grouped-query heads: it trains as the opset-18 export does.
import fidelity

fidelity.check_family("llama", opset=23)
