builtin.module attributes {scalc.model = "convert", scalc.symbols = ["B"]} {
  func.func @forward(%x: tensor<?x64xf32> {nn.input = "x", nn.dims = #nn.dims<B, 64>}) -> (tensor<?x64xf32> {nn.output = "round_trip"}) {
    %0 = nn.cast %x : tensor<?x64xf32> -> tensor<?x64xbf16>
    %1 = nn.cast %0 : tensor<?x64xbf16> -> tensor<?x64xf16>
    %2 = nn.cast %1 : tensor<?x64xf16> -> tensor<?x64xf32>
    func.return %2 : tensor<?x64xf32>
  }
}
