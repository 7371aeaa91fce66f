builtin.module attributes {scalc.model = "attention", scalc.symbols = ["B", "T"]} {
  nn.param @wq : tensor<128x128xbf16> {init = "normal", std = 2.000000e-02 : f64}
  func.func @forward(%x: tensor<?x?x128xbf16> {nn.input = "x", nn.dims = #nn.dims<B, T, 128>}, %q: tensor<?x4x?x32xf32> {nn.input = "q", nn.dims = #nn.dims<B, 4, T, 32>}, %k: tensor<?x4x32x?xf32> {nn.input = "k", nn.dims = #nn.dims<B, 4, 32, T>}) -> (tensor<?x?x128xbf16> {nn.output = "proj"}, tensor<?x4x?x?xf32> {nn.output = "scores"}) {
    %wq = nn.get_param @wq : tensor<128x128xbf16>
    %0 = nn.matmul %x, %wq : (tensor<?x?x128xbf16>, tensor<128x128xbf16>) -> tensor<?x?x128xbf16>
    %1 = nn.matmul %q, %k : (tensor<?x4x?x32xf32>, tensor<?x4x32x?xf32>) -> tensor<?x4x?x?xf32>
    func.return %0, %1 : tensor<?x?x128xbf16>, tensor<?x4x?x?xf32>
  }
}
