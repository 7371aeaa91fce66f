builtin.module attributes {scalc.model = "grads", scalc.symbols = ["B", "T"]} {
  nn.param @ln_g : tensor<128xf32> {init = "ones"}
  func.func @elementwise(%x: tensor<?x256xf32> {nn.input = "x", nn.dims = #nn.dims<B, 256>}, %y: tensor<?x256xf32> {nn.input = "y", nn.dims = #nn.dims<B, 256>}, %dy: tensor<?x256xf32> {nn.input = "dy", nn.dims = #nn.dims<B, 256>}, %xb: tensor<4xbf16> {nn.input = "xb", nn.dims = #nn.dims<4>}) -> (tensor<?x256xf32> {nn.output = "relu"}, tensor<?x256xf32> {nn.output = "gelu"}, tensor<?x256xf32> {nn.output = "tanh"}, tensor<?x256xf32> {nn.output = "sigmoid"}, tensor<?x256xf32> {nn.output = "sqrt"}, tensor<4xbf16> {nn.output = "gelu_bf16"}) {
    %0 = nn.relu_grad %x, %dy : tensor<?x256xf32>
    %1 = nn.gelu_grad %x, %dy : tensor<?x256xf32>
    %2 = nn.tanh_grad %y, %dy : tensor<?x256xf32>
    %3 = nn.sigmoid_grad %y, %dy : tensor<?x256xf32>
    %4 = nn.sqrt_grad %y, %dy : tensor<?x256xf32>
    %5 = nn.gelu_grad %xb, %xb : tensor<4xbf16>
    func.return %0, %1, %2, %3, %4, %5 : tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x256xf32>, tensor<4xbf16>
  }
  func.func @layers(%h: tensor<?x?x128xf32> {nn.input = "h", nn.dims = #nn.dims<B, T, 128>}, %dh: tensor<?x?x128xf32> {nn.input = "dh", nn.dims = #nn.dims<B, T, 128>}, %p: tensor<?x4x?x?xf32> {nn.input = "p", nn.dims = #nn.dims<B, 4, T, T>}, %dp: tensor<?x4x?x?xf32> {nn.input = "dp", nn.dims = #nn.dims<B, 4, T, T>}, %ids: tensor<?x?xi64> {nn.input = "ids", nn.dims = #nn.dims<B, T>}) -> (tensor<?x?x128xf32> {nn.output = "dh"}, tensor<128xf32> {nn.output = "dg"}, tensor<128xf32> {nn.output = "db"}, tensor<?x4x?x?xf32> {nn.output = "ds"}, tensor<65x128xf32> {nn.output = "dtok"}) {
    %ln_g = nn.get_param @ln_g : tensor<128xf32>
    %dx, %dg, %db = nn.layernorm_grad %h, %ln_g, %dh {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<?x?x128xf32>) -> (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>)
    %0 = nn.softmax_grad %p, %dp axis 3 : tensor<?x4x?x?xf32>
    %1 = nn.causal_mask_grad %0 : tensor<?x4x?x?xf32>
    %2 = nn.embedding_grad %ids, %dx : (tensor<?x?xi64>, tensor<?x?x128xf32>) -> tensor<65x128xf32>
    func.return %dx, %dg, %db, %1, %2 : tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x4x?x?xf32>, tensor<65x128xf32>
  }
  func.func @loss(%logits: tensor<?x?x65xf32> {nn.input = "logits", nn.dims = #nn.dims<B, T, 65>}, %labels: tensor<?x?xi32> {nn.input = "labels", nn.dims = #nn.dims<B, T>}, %dloss: tensor<f32> {nn.input = "dloss", nn.dims = #nn.dims<>}) -> (tensor<?x?x65xf32> {nn.output = "dlogits"}) {
    %0 = nn.cross_entropy_grad %logits, %labels, %dloss : (tensor<?x?x65xf32>, tensor<?x?xi32>, tensor<f32>) -> tensor<?x?x65xf32>
    func.return %0 : tensor<?x?x65xf32>
  }
  func.func @reduce_and_shape(%x: tensor<?x10xf32> {nn.input = "x", nn.dims = #nn.dims<B, 10>}, %dmax: tensor<?x1xf32> {nn.input = "dmax", nn.dims = #nn.dims<B, 1>}, %dmean: tensor<1x10xf32> {nn.input = "dmean", nn.dims = #nn.dims<1, 10>}, %dpos: tensor<?x128xf32> {nn.input = "dpos", nn.dims = #nn.dims<T, 128>}, %dblock: tensor<128x128xf32> {nn.input = "dblock", nn.dims = #nn.dims<128, 128>}) -> (tensor<?x10xf32> {nn.output = "max"}, tensor<?x10xf32> {nn.output = "mean"}, tensor<256x128xf32> {nn.output = "pos"}, tensor<4x128x128xf32> {nn.output = "blocks"}) {
    %0 = nn.max_grad %x, %dmax axes [1] : (tensor<?x10xf32>, tensor<?x1xf32>) -> tensor<?x10xf32>
    %1 = nn.mean_grad %dmean axes [0] to #nn.dims<B, 10> : tensor<1x10xf32> -> tensor<?x10xf32>
    %2 = nn.slice_grad %dpos axis 0 [0] to #nn.dims<256, 128> : tensor<?x128xf32> -> tensor<256x128xf32>
    %3 = nn.index_grad %dblock axis 0 [3] to #nn.dims<4, 128, 128> : tensor<128x128xf32> -> tensor<4x128x128xf32>
    func.return %0, %1, %2, %3 : tensor<?x10xf32>, tensor<?x10xf32>, tensor<256x128xf32>, tensor<4x128x128xf32>
  }
}
