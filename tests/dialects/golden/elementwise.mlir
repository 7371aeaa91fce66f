builtin.module attributes {scalc.model = "elementwise", scalc.symbols = ["B", "T"]} {
  func.func @forward(%x: tensor<?x?x256xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 256>}, %y: tensor<?x?x256xf32> {nn.input = "y", nn.dims = #nn.dims<B, T, 256>}, %h: tensor<?x128xbf16> {nn.input = "h", nn.dims = #nn.dims<B*T, 128>}) -> (tensor<?x?x256xf32> {nn.output = "out"}, tensor<?x128xbf16> {nn.output = "half"}) {
    %0 = nn.neg %x : tensor<?x?x256xf32>
    %1 = nn.relu %0 : tensor<?x?x256xf32>
    %2 = nn.gelu %1 : tensor<?x?x256xf32>
    %3 = nn.tanh %2 : tensor<?x?x256xf32>
    %4 = nn.sigmoid %3 : tensor<?x?x256xf32>
    %5 = nn.exp %4 : tensor<?x?x256xf32>
    %6 = nn.log %5 : tensor<?x?x256xf32>
    %7 = nn.sqrt %6 : tensor<?x?x256xf32>
    %8 = nn.add %7, %y : tensor<?x?x256xf32>
    %9 = nn.sub %8, %y : tensor<?x?x256xf32>
    %10 = nn.mul %9, %y : tensor<?x?x256xf32>
    %11 = nn.div %10, %y : tensor<?x?x256xf32>
    %12 = nn.gelu %h : tensor<?x128xbf16>
    %13 = nn.add %12, %h : tensor<?x128xbf16>
    func.return %11, %13 : tensor<?x?x256xf32>, tensor<?x128xbf16>
  }
}
