builtin.module attributes {scalc.model = "unary", scalc.symbols = ["B"]} {
  func.func @forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}, %h: tensor<?x4xbf16> {nn.input = "h", nn.dims = #nn.dims<B, 4>}) -> (tensor<?x4xf32> {nn.output = "r", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "g", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "t", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "s", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "e", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "l", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "q", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "n", nn.dims = #nn.dims<B, 4>}, tensor<?x4xbf16> {nn.output = "low", nn.dims = #nn.dims<B, 4>}) {
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
