builtin.module attributes {scalc.model = "forward_ops", scalc.symbols = ["B", "T"]} {
  func.func @elementwise(%x: !scaled.tensor<?x256xbf16> {nn.input = "x", nn.dims = #nn.dims<B, 256>}, %y: !scaled.tensor<?x256xbf16> {nn.input = "y", nn.dims = #nn.dims<B, 256>}, %h: !scaled.tensor<4xf16> {nn.input = "h", nn.dims = #nn.dims<4>}) -> (!scaled.tensor<?x256xbf16> {nn.output = "out"}, !scaled.tensor<4xf16> {nn.output = "half"}) {
    %0 = scaled.neg %x : !scaled.tensor<?x256xbf16>
    %1 = scaled.relu %0 : !scaled.tensor<?x256xbf16>
    %2 = scaled.gelu %1 : !scaled.tensor<?x256xbf16>
    %3 = scaled.tanh %2 : !scaled.tensor<?x256xbf16>
    %4 = scaled.sigmoid %3 : !scaled.tensor<?x256xbf16>
    %5 = scaled.exp %4 : !scaled.tensor<?x256xbf16>
    %6 = scaled.log %5 : !scaled.tensor<?x256xbf16>
    %7 = scaled.sqrt %6 : !scaled.tensor<?x256xbf16>
    %8 = scaled.add %7, %y : !scaled.tensor<?x256xbf16>
    %9 = scaled.sub %8, %y : !scaled.tensor<?x256xbf16>
    %10 = scaled.mul %9, %y : !scaled.tensor<?x256xbf16>
    %11 = scaled.div %10, %y : !scaled.tensor<?x256xbf16>
    %12 = scaled.gelu %h : !scaled.tensor<4xf16>
    func.return %11, %12 : !scaled.tensor<?x256xbf16>, !scaled.tensor<4xf16>
  }
  func.func @reduce(%x: !scaled.tensor<?x10xbf16> {nn.input = "x", nn.dims = #nn.dims<B, 10>}) -> (!scaled.tensor<?x1xbf16> {nn.output = "sum"}, !scaled.tensor<?xbf16> {nn.output = "max"}, !scaled.tensor<bf16> {nn.output = "mean"}) {
    %0 = scaled.sum %x axes [1] keepdims : !scaled.tensor<?x10xbf16> -> !scaled.tensor<?x1xbf16>
    %1 = scaled.max %x axes [1] : !scaled.tensor<?x10xbf16> -> !scaled.tensor<?xbf16>
    %2 = scaled.mean %x axes [0, 1] : !scaled.tensor<?x10xbf16> -> !scaled.tensor<bf16>
    %3 = scaled.constant 5.000000e-01 : !scaled.tensor<bf16>
    %4 = scaled.mul %2, %3 : !scaled.tensor<bf16>
    func.return %0, %1, %4 : !scaled.tensor<?x1xbf16>, !scaled.tensor<?xbf16>, !scaled.tensor<bf16>
  }
  func.func @shape(%x: !scaled.tensor<?x?x128xbf16> {nn.input = "x", nn.dims = #nn.dims<B, T, 128>}, %b: !scaled.tensor<256xf32> {nn.input = "b", nn.dims = #nn.dims<256>}, %h: !scaled.tensor<?x?x4x32xbf16> {nn.input = "h", nn.dims = #nn.dims<B, T, 4, 32>}, %pos: !scaled.tensor<256x128xbf16> {nn.input = "pos", nn.dims = #nn.dims<256, 128>}, %blocks: !scaled.tensor<4x128x128xbf16> {nn.input = "blocks", nn.dims = #nn.dims<4, 128, 128>}) -> (!scaled.tensor<?x128xbf16> {nn.output = "flat"}, !scaled.tensor<?x256xf32> {nn.output = "bias"}, !scaled.tensor<?x4x?x32xbf16> {nn.output = "heads"}, !scaled.tensor<?x128xbf16> {nn.output = "pos"}, !scaled.tensor<128x128xbf16> {nn.output = "block"}) {
    %0 = scaled.reshape %x to #nn.dims<B*T, 128> : !scaled.tensor<?x?x128xbf16> -> !scaled.tensor<?x128xbf16>
    %1 = scaled.broadcast %b to #nn.dims<B, 256> : !scaled.tensor<256xf32> -> !scaled.tensor<?x256xf32>
    %2 = scaled.transpose %h [0, 2, 1, 3] : !scaled.tensor<?x?x4x32xbf16> -> !scaled.tensor<?x4x?x32xbf16>
    %3 = scaled.slice %pos axis 0 [0 : #nn.dims<T>] : !scaled.tensor<256x128xbf16> -> !scaled.tensor<?x128xbf16>
    %4 = scaled.index %blocks axis 0 [3] : !scaled.tensor<4x128x128xbf16> -> !scaled.tensor<128x128xbf16>
    func.return %0, %1, %2, %3, %4 : !scaled.tensor<?x128xbf16>, !scaled.tensor<?x256xf32>, !scaled.tensor<?x4x?x32xbf16>, !scaled.tensor<?x128xbf16>, !scaled.tensor<128x128xbf16>
  }
  func.func @layers(%tok: !scaled.tensor<65x128xbf16> {nn.input = "tok", nn.dims = #nn.dims<65, 128>}, %ids: tensor<?x?xi32> {nn.input = "ids", nn.dims = #nn.dims<B, T>}, %g: !scaled.tensor<128xbf16> {nn.input = "g", nn.dims = #nn.dims<128>}, %b: !scaled.tensor<128xbf16> {nn.input = "b", nn.dims = #nn.dims<128>}, %q: !scaled.tensor<?x4x?x32xbf16> {nn.input = "q", nn.dims = #nn.dims<B, 4, T, 32>}, %k: !scaled.tensor<?x4x32x?xbf16> {nn.input = "k", nn.dims = #nn.dims<B, 4, 32, T>}) -> (!scaled.tensor<?x?x128xf32> {nn.output = "h"}, !scaled.tensor<?x4x?x?xbf16> {nn.output = "att"}) {
    %0 = scaled.embedding %tok, %ids : (!scaled.tensor<65x128xbf16>, tensor<?x?xi32>) -> !scaled.tensor<?x?x128xbf16>
    %1 = scaled.layernorm %0, %g, %b {eps = 1.000000e-05 : f64} : (!scaled.tensor<?x?x128xbf16>, !scaled.tensor<128xbf16>, !scaled.tensor<128xbf16>) -> !scaled.tensor<?x?x128xf32>
    %2 = scaled.matmul %q, %k : (!scaled.tensor<?x4x?x32xbf16>, !scaled.tensor<?x4x32x?xbf16>) -> !scaled.tensor<?x4x?x?xbf16>
    %3 = scaled.causal_mask %2 : !scaled.tensor<?x4x?x?xbf16>
    %4 = scaled.softmax %3 axis 3 : !scaled.tensor<?x4x?x?xbf16>
    func.return %1, %4 : !scaled.tensor<?x?x128xf32>, !scaled.tensor<?x4x?x?xbf16>
  }
  func.func @loss(%logits: !scaled.tensor<?x?x65xbf16> {nn.input = "logits", nn.dims = #nn.dims<B, T, 65>}, %labels: tensor<?x?xi64> {nn.input = "labels", nn.dims = #nn.dims<B, T>}) -> (tensor<f32> {nn.output = "loss"}) {
    %0 = scaled.cross_entropy %logits, %labels : (!scaled.tensor<?x?x65xbf16>, tensor<?x?xi64>) -> !scaled.tensor<f32>
    %1 = scaled.to_tensor %0 : !scaled.tensor<f32> -> tensor<f32>
    func.return %1 : tensor<f32>
  }
}
