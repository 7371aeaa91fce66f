builtin.module attributes {scalc.model = "layers", scalc.symbols = ["B", "T"]} {
  nn.param @gamma : tensor<8xf32> {init = "ones"}
  nn.param @beta : tensor<8xf32> {init = "zeros"}
  nn.param @table : tensor<10x8xf32> {init = "normal", std = 2.000000e-02 : f64}
  func.func @forward(%x: tensor<?x?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 8>}, %ids: tensor<?x?xi32> {nn.input = "ids", nn.dims = #nn.dims<B, T>}) -> (tensor<?x?x8xf32> {nn.output = "probs", nn.dims = #nn.dims<B, T, 8>}, tensor<?x?x8xf32> {nn.output = "over_time", nn.dims = #nn.dims<B, T, 8>}, tensor<?x?x8xf32> {nn.output = "normed", nn.dims = #nn.dims<B, T, 8>}, tensor<?x?x8xf32> {nn.output = "normed_eps", nn.dims = #nn.dims<B, T, 8>}, tensor<?x?x8xf32> {nn.output = "embedded", nn.dims = #nn.dims<B, T, 8>}, tensor<?x?x?xf32> {nn.output = "masked", nn.dims = #nn.dims<B, T, T>}) {
    %gamma = nn.get_param @gamma : tensor<8xf32>
    %beta = nn.get_param @beta : tensor<8xf32>
    %table = nn.get_param @table : tensor<10x8xf32>
    %probs = nn.softmax %x axis 2 : tensor<?x?x8xf32>
    %over_time = nn.softmax %x axis 1 : tensor<?x?x8xf32>
    %normed = nn.layernorm %x, %gamma, %beta {eps = 1.000000e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %normed_eps = nn.layernorm %x, %gamma, %beta {eps = 1.000000e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %embedded = nn.embedding %table, %ids : (tensor<10x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
    %0 = nn.transpose %x [0, 2, 1] : tensor<?x?x8xf32> -> tensor<?x8x?xf32>
    %1 = nn.matmul %x, %0 : (tensor<?x?x8xf32>, tensor<?x8x?xf32>) -> tensor<?x?x?xf32>
    %masked = nn.causal_mask %1 : tensor<?x?x?xf32>
    func.return %probs, %over_time, %normed, %normed_eps, %embedded, %masked : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x?xf32>
  }
}
