"""genarm-web model pipeline: data, ARM/RM training, ONNX export, quantization, evaluation."""
