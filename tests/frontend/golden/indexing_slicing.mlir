builtin.module attributes {scalc.model = "indexing_slicing", scalc.symbols = ["B", "T"]} {
  func.func @forward(%table: tensor<16x8xf32> {nn.input = "table", nn.dims = #nn.dims<16, 8>}, %x: tensor<?x?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 8>}) -> (tensor<8xf32> {nn.output = "row", nn.dims = #nn.dims<8>}, tensor<8xf32> {nn.output = "last_row", nn.dims = #nn.dims<8>}, tensor<?x8xf32> {nn.output = "first_step", nn.dims = #nn.dims<B, 8>}, tensor<3x8xf32> {nn.output = "some_rows", nn.dims = #nn.dims<3, 8>}, tensor<?x8xf32> {nn.output = "prefix", nn.dims = #nn.dims<T, 8>}, tensor<?x?x2xf32> {nn.output = "channels", nn.dims = #nn.dims<B, T, 2>}, tensor<2xf32> {nn.output = "mixed", nn.dims = #nn.dims<2>}, tensor<16x8xf32> {nn.output = "whole", nn.dims = #nn.dims<16, 8>}) {
    %row = nn.index %table axis 0 [3] : tensor<16x8xf32> -> tensor<8xf32>
    %last_row = nn.index %table axis 0 [15] : tensor<16x8xf32> -> tensor<8xf32>
    %first_step = nn.index %x axis 1 [0] : tensor<?x?x8xf32> -> tensor<?x8xf32>
    %some_rows = nn.slice %table axis 0 [2 : #nn.dims<5>] : tensor<16x8xf32> -> tensor<3x8xf32>
    %prefix = nn.slice %table axis 0 [0 : #nn.dims<T>] : tensor<16x8xf32> -> tensor<?x8xf32>
    %channels = nn.slice %x axis 2 [2 : #nn.dims<4>] : tensor<?x?x8xf32> -> tensor<?x?x2xf32>
    %0 = nn.slice %table axis 0 [1 : #nn.dims<3>] : tensor<16x8xf32> -> tensor<2x8xf32>
    %mixed = nn.index %0 axis 1 [2] : tensor<2x8xf32> -> tensor<2xf32>
    func.return %row, %last_row, %first_step, %some_rows, %prefix, %channels, %mixed, %table : tensor<8xf32>, tensor<8xf32>, tensor<?x8xf32>, tensor<3x8xf32>, tensor<?x8xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<16x8xf32>
  }
}
