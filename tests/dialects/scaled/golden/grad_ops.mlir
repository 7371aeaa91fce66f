builtin.module attributes {scalc.model = "grad_ops", scalc.symbols = ["B", "T"]} {
  func.func @elementwise(%x: !scaled.tensor<?x256xbf16> {nn.input = "x", nn.dims = #nn.dims<B, 256>}, %y: !scaled.tensor<?x256xbf16> {nn.input = "y", nn.dims = #nn.dims<B, 256>}, %dy: !scaled.tensor<?x256xbf16> {nn.input = "dy", nn.dims = #nn.dims<B, 256>}) -> (!scaled.tensor<?x256xbf16> {nn.output = "relu"}, !scaled.tensor<?x256xbf16> {nn.output = "gelu"}, !scaled.tensor<?x256xbf16> {nn.output = "tanh"}, !scaled.tensor<?x256xbf16> {nn.output = "sigmoid"}, !scaled.tensor<?x256xbf16> {nn.output = "sqrt"}) {
    %0 = scaled.relu_grad %x, %dy : !scaled.tensor<?x256xbf16>
    %1 = scaled.gelu_grad %x, %dy : !scaled.tensor<?x256xbf16>
    %2 = scaled.tanh_grad %y, %dy : !scaled.tensor<?x256xbf16>
    %3 = scaled.sigmoid_grad %y, %dy : !scaled.tensor<?x256xbf16>
    %4 = scaled.sqrt_grad %y, %dy : !scaled.tensor<?x256xbf16>
    func.return %0, %1, %2, %3, %4 : !scaled.tensor<?x256xbf16>, !scaled.tensor<?x256xbf16>, !scaled.tensor<?x256xbf16>, !scaled.tensor<?x256xbf16>, !scaled.tensor<?x256xbf16>
  }
  func.func @layers(%h: !scaled.tensor<?x?x128xbf16> {nn.input = "h", nn.dims = #nn.dims<B, T, 128>}, %g: !scaled.tensor<128xf32> {nn.input = "g", nn.dims = #nn.dims<128>}, %dh: !scaled.tensor<?x?x128xbf16> {nn.input = "dh", nn.dims = #nn.dims<B, T, 128>}, %p: !scaled.tensor<?x4x?x?xbf16> {nn.input = "p", nn.dims = #nn.dims<B, 4, T, T>}, %dp: !scaled.tensor<?x4x?x?xbf16> {nn.input = "dp", nn.dims = #nn.dims<B, 4, T, T>}, %ids: tensor<?x?xi64> {nn.input = "ids", nn.dims = #nn.dims<B, T>}) -> (!scaled.tensor<?x?x128xbf16> {nn.output = "dh"}, !scaled.tensor<128xbf16> {nn.output = "dg"}, !scaled.tensor<128xbf16> {nn.output = "db"}, !scaled.tensor<?x4x?x?xbf16> {nn.output = "ds"}, !scaled.tensor<65x128xbf16> {nn.output = "dtok"}) {
    %dx, %dg, %db = scaled.layernorm_grad %h, %g, %dh {eps = 1.000000e-05 : f64} : (!scaled.tensor<?x?x128xbf16>, !scaled.tensor<128xf32>, !scaled.tensor<?x?x128xbf16>) -> (!scaled.tensor<?x?x128xbf16>, !scaled.tensor<128xbf16>, !scaled.tensor<128xbf16>)
    %0 = scaled.softmax_grad %p, %dp axis 3 : !scaled.tensor<?x4x?x?xbf16>
    %1 = scaled.causal_mask_grad %0 : !scaled.tensor<?x4x?x?xbf16>
    %2 = scaled.embedding_grad %ids, %dx : (tensor<?x?xi64>, !scaled.tensor<?x?x128xbf16>) -> !scaled.tensor<65x128xbf16>
    func.return %dx, %dg, %db, %1, %2 : !scaled.tensor<?x?x128xbf16>, !scaled.tensor<128xbf16>, !scaled.tensor<128xbf16>, !scaled.tensor<?x4x?x?xbf16>, !scaled.tensor<65x128xbf16>
  }
  func.func @reduce_and_shape(%x: !scaled.tensor<?x10xbf16> {nn.input = "x", nn.dims = #nn.dims<B, 10>}, %dmax: !scaled.tensor<?x1xbf16> {nn.input = "dmax", nn.dims = #nn.dims<B, 1>}, %dmean: !scaled.tensor<1x10xbf16> {nn.input = "dmean", nn.dims = #nn.dims<1, 10>}, %dpos: !scaled.tensor<?x128xbf16> {nn.input = "dpos", nn.dims = #nn.dims<T, 128>}, %dblock: !scaled.tensor<128x128xbf16> {nn.input = "dblock", nn.dims = #nn.dims<128, 128>}) -> (!scaled.tensor<?x10xbf16> {nn.output = "max"}, !scaled.tensor<?x10xbf16> {nn.output = "mean"}, !scaled.tensor<256x128xbf16> {nn.output = "pos"}, !scaled.tensor<4x128x128xbf16> {nn.output = "blocks"}) {
    %0 = scaled.max_grad %x, %dmax axes [1] : (!scaled.tensor<?x10xbf16>, !scaled.tensor<?x1xbf16>) -> !scaled.tensor<?x10xbf16>
    %1 = scaled.mean_grad %dmean axes [0] to #nn.dims<B, 10> : !scaled.tensor<1x10xbf16> -> !scaled.tensor<?x10xbf16>
    %2 = scaled.slice_grad %dpos axis 0 [0] to #nn.dims<256, 128> : !scaled.tensor<?x128xbf16> -> !scaled.tensor<256x128xbf16>
    %3 = scaled.index_grad %dblock axis 0 [3] to #nn.dims<4, 128, 128> : !scaled.tensor<128x128xbf16> -> !scaled.tensor<4x128x128xbf16>
    func.return %0, %1, %2, %3 : !scaled.tensor<?x10xbf16>, !scaled.tensor<?x10xbf16>, !scaled.tensor<256x128xbf16>, !scaled.tensor<4x128x128xbf16>
  }
}
