builtin.module attributes {scalc.model = "unary", scalc.symbols = ["B"]} {
  func.func @forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}, %h: tensor<?x4xbf16> {nn.input = "h", nn.dims = #nn.dims<B, 4>}) -> (tensor<?x4xf32> {nn.output = "r"}, tensor<?x4xf32> {nn.output = "g"}, tensor<?x4xf32> {nn.output = "t"}, tensor<?x4xf32> {nn.output = "s"}, tensor<?x4xf32> {nn.output = "e"}, tensor<?x4xf32> {nn.output = "l"}, tensor<?x4xf32> {nn.output = "q"}, tensor<?x4xf32> {nn.output = "n"}, tensor<?x4xbf16> {nn.output = "low"}) {
    %r = nn.relu %x : tensor<?x4xf32>
    %g = nn.gelu %x : tensor<?x4xf32>
    %t = nn.tanh %x : tensor<?x4xf32>
    %s = nn.sigmoid %x : tensor<?x4xf32>
    %e = nn.exp %x : tensor<?x4xf32>
    %l = nn.log %x : tensor<?x4xf32>
    %q = nn.sqrt %x : tensor<?x4xf32>
    %n = nn.neg %x : tensor<?x4xf32>
    %low = nn.gelu %h : tensor<?x4xbf16>
    func.return %r, %g, %t, %s, %e, %l, %q, %n, %low : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xbf16>
  }
}
