builtin.module attributes {scalc.model = "transformer", scalc.symbols = ["B", "T"]} {
  nn.param @tok : tensor<65x128xf32> {init = "normal", std = 2.000000e-02 : f64}
  nn.param @ln_g : tensor<128xf32> {init = "ones"}
  nn.param @ln_b : tensor<128xf32> {init = "zeros"}
  func.func @forward(%ids: tensor<?x?xi32> {nn.input = "ids", nn.dims = #nn.dims<B, T>}, %s: tensor<?x4x?x?xf32> {nn.input = "scores", nn.dims = #nn.dims<B, 4, T, T>}) -> (tensor<?x?x128xf32> {nn.output = "h"}, tensor<?x4x?x?xf32> {nn.output = "att"}) {
    %tok = nn.get_param @tok : tensor<65x128xf32>
    %0 = nn.embedding %tok, %ids : (tensor<65x128xf32>, tensor<?x?xi32>) -> tensor<?x?x128xf32>
    %ln_g = nn.get_param @ln_g : tensor<128xf32>
    %ln_b = nn.get_param @ln_b : tensor<128xf32>
    %1 = nn.layernorm %0, %ln_g, %ln_b {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %2 = nn.causal_mask %s : tensor<?x4x?x?xf32>
    %3 = nn.softmax %2 axis 3 : tensor<?x4x?x?xf32>
    func.return %1, %3 : tensor<?x?x128xf32>, tensor<?x4x?x?xf32>
  }
}
