builtin.module attributes {scalc.model = "shape", scalc.symbols = ["B", "T"]} {
  nn.param @pos : tensor<256x128xf32> {init = "normal", std = 1.000000e-02 : f64}
  nn.param @blocks : tensor<4x128x128xf32> {init = "zeros"}
  func.func @forward(%x: tensor<?x?x128xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 128>}, %ids: tensor<?x?xi64> {nn.input = "ids", nn.dims = #nn.dims<B, T>}, %b: tensor<256xf32> {nn.input = "b", nn.dims = #nn.dims<256>}, %h: tensor<?x?x4x32xf32> {nn.input = "h", nn.dims = #nn.dims<B, T, 4, 32>}) -> (tensor<?x128xf32> {nn.output = "flat"}, tensor<?xi64> {nn.output = "flat_ids"}, tensor<?x256xf32> {nn.output = "bias"}, tensor<?x4x?x32xf32> {nn.output = "heads"}, tensor<?x128xf32> {nn.output = "pos"}, tensor<128x128xf32> {nn.output = "block"}) {
    %0 = nn.reshape %x to #nn.dims<B*T, 128> : tensor<?x?x128xf32> -> tensor<?x128xf32>
    %1 = nn.reshape %ids to #nn.dims<B*T> : tensor<?x?xi64> -> tensor<?xi64>
    %2 = nn.broadcast %b to #nn.dims<B, 256> : tensor<256xf32> -> tensor<?x256xf32>
    %3 = nn.transpose %h [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %pos = nn.get_param @pos : tensor<256x128xf32>
    %4 = nn.slice %pos axis 0 [0 : #nn.dims<T>] : tensor<256x128xf32> -> tensor<?x128xf32>
    %blocks = nn.get_param @blocks : tensor<4x128x128xf32>
    %5 = nn.index %blocks axis 0 [3] : tensor<4x128x128xf32> -> tensor<128x128xf32>
    func.return %0, %1, %2, %3, %4, %5 : tensor<?x128xf32>, tensor<?xi64>, tensor<?x256xf32>, tensor<?x4x?x32xf32>, tensor<?x128xf32>, tensor<128x128xf32>
  }
}
