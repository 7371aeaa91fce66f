builtin.module attributes {scalc.model = "gpt", scalc.symbols = ["B", "T"]} {
  nn.param @tok_emb : tensor<96x128xf32> {init = "normal", std = 2.000000e-02 : f64}
  nn.param @pos_emb : tensor<64x128xf32> {init = "normal", std = 1.000000e-02 : f64}
  nn.param @ln1_g : tensor<2x128xf32> {init = "ones"}
  nn.param @ln1_b : tensor<2x128xf32> {init = "zeros"}
  nn.param @w_qkv : tensor<2x128x384xf32> {init = "normal", std = 2.000000e-02 : f64}
  nn.param @w_proj : tensor<2x128x128xf32> {init = "normal", std = 1.000000e-02 : f64}
  nn.param @ln2_g : tensor<2x128xf32> {init = "ones"}
  nn.param @ln2_b : tensor<2x128xf32> {init = "zeros"}
  nn.param @w_up : tensor<2x128x512xf32> {init = "normal", std = 2.000000e-02 : f64}
  nn.param @b_up : tensor<2x512xf32> {init = "zeros"}
  nn.param @w_down : tensor<2x512x128xf32> {init = "normal", std = 1.000000e-02 : f64}
  nn.param @b_down : tensor<2x128xf32> {init = "zeros"}
  nn.param @lnf_g : tensor<128xf32> {init = "ones"}
  nn.param @lnf_b : tensor<128xf32> {init = "zeros"}
  nn.param @w_out : tensor<128x96xf32> {init = "normal", std = 2.000000e-02 : f64}
  func.func @forward(%tokens: tensor<?x?xi32> {nn.input = "tokens", nn.dims = #nn.dims<B, T>}) -> (tensor<?x?x96xf32> {nn.output = "logits", nn.dims = #nn.dims<B, T, 96>}) {
    %tok_emb = nn.get_param @tok_emb : tensor<96x128xf32>
    %pos_emb = nn.get_param @pos_emb : tensor<64x128xf32>
    %ln1_g = nn.get_param @ln1_g : tensor<2x128xf32>
    %ln1_b = nn.get_param @ln1_b : tensor<2x128xf32>
    %w_qkv = nn.get_param @w_qkv : tensor<2x128x384xf32>
    %w_proj = nn.get_param @w_proj : tensor<2x128x128xf32>
    %ln2_g = nn.get_param @ln2_g : tensor<2x128xf32>
    %ln2_b = nn.get_param @ln2_b : tensor<2x128xf32>
    %w_up = nn.get_param @w_up : tensor<2x128x512xf32>
    %b_up = nn.get_param @b_up : tensor<2x512xf32>
    %w_down = nn.get_param @w_down : tensor<2x512x128xf32>
    %b_down = nn.get_param @b_down : tensor<2x128xf32>
    %lnf_g = nn.get_param @lnf_g : tensor<128xf32>
    %lnf_b = nn.get_param @lnf_b : tensor<128xf32>
    %w_out = nn.get_param @w_out : tensor<128x96xf32>
    %0 = nn.embedding %tok_emb, %tokens : (tensor<96x128xf32>, tensor<?x?xi32>) -> tensor<?x?x128xf32>
    %1 = nn.slice %pos_emb axis 0 [0 : #nn.dims<T>] : tensor<64x128xf32> -> tensor<?x128xf32>
    %2 = nn.broadcast %1 to #nn.dims<B, T, 128> : tensor<?x128xf32> -> tensor<?x?x128xf32>
    %h = nn.add %0, %2 : tensor<?x?x128xf32>
    %3 = nn.index %ln1_g axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %4 = nn.index %ln1_b axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %5 = nn.layernorm %h, %3, %4 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %6 = nn.index %w_qkv axis 0 [0] : tensor<2x128x384xf32> -> tensor<128x384xf32>
    %qkv = nn.matmul %5, %6 : (tensor<?x?x128xf32>, tensor<128x384xf32>) -> tensor<?x?x384xf32>
    %7 = nn.slice %qkv axis 2 [0 : #nn.dims<128>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %8 = nn.reshape %7 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %q = nn.transpose %8 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %9 = nn.slice %qkv axis 2 [128 : #nn.dims<256>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %10 = nn.reshape %9 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %k = nn.transpose %10 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %11 = nn.slice %qkv axis 2 [256 : #nn.dims<384>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %12 = nn.reshape %11 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %v = nn.transpose %12 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %13 = nn.transpose %k [0, 1, 3, 2] : tensor<?x4x?x32xf32> -> tensor<?x4x32x?xf32>
    %14 = nn.matmul %q, %13 : (tensor<?x4x?x32xf32>, tensor<?x4x32x?xf32>) -> tensor<?x4x?x?xf32>
    %15 = nn.constant 5.6568542494923806 : tensor<f32>
    %16 = nn.broadcast %15 to #nn.dims<B, 4, T, T> : tensor<f32> -> tensor<?x4x?x?xf32>
    %17 = nn.div %14, %16 : tensor<?x4x?x?xf32>
    %scores = nn.causal_mask %17 : tensor<?x4x?x?xf32>
    %18 = nn.softmax %scores axis 3 : tensor<?x4x?x?xf32>
    %heads = nn.matmul %18, %v : (tensor<?x4x?x?xf32>, tensor<?x4x?x32xf32>) -> tensor<?x4x?x32xf32>
    %19 = nn.transpose %heads [0, 2, 1, 3] : tensor<?x4x?x32xf32> -> tensor<?x?x4x32xf32>
    %20 = nn.reshape %19 to #nn.dims<B, T, 128> : tensor<?x?x4x32xf32> -> tensor<?x?x128xf32>
    %21 = nn.index %w_proj axis 0 [0] : tensor<2x128x128xf32> -> tensor<128x128xf32>
    %22 = nn.matmul %20, %21 : (tensor<?x?x128xf32>, tensor<128x128xf32>) -> tensor<?x?x128xf32>
    %h_1 = nn.add %h, %22 : tensor<?x?x128xf32>
    %23 = nn.index %ln2_g axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %24 = nn.index %ln2_b axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %25 = nn.layernorm %h_1, %23, %24 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %26 = nn.index %w_up axis 0 [0] : tensor<2x128x512xf32> -> tensor<128x512xf32>
    %27 = nn.matmul %25, %26 : (tensor<?x?x128xf32>, tensor<128x512xf32>) -> tensor<?x?x512xf32>
    %28 = nn.index %b_up axis 0 [0] : tensor<2x512xf32> -> tensor<512xf32>
    %29 = nn.broadcast %28 to #nn.dims<B, T, 512> : tensor<512xf32> -> tensor<?x?x512xf32>
    %30 = nn.add %27, %29 : tensor<?x?x512xf32>
    %31 = nn.gelu %30 : tensor<?x?x512xf32>
    %32 = nn.index %w_down axis 0 [0] : tensor<2x512x128xf32> -> tensor<512x128xf32>
    %33 = nn.matmul %31, %32 : (tensor<?x?x512xf32>, tensor<512x128xf32>) -> tensor<?x?x128xf32>
    %34 = nn.index %b_down axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %35 = nn.broadcast %34 to #nn.dims<B, T, 128> : tensor<128xf32> -> tensor<?x?x128xf32>
    %36 = nn.add %33, %35 : tensor<?x?x128xf32>
    %h_2 = nn.add %h_1, %36 : tensor<?x?x128xf32>
    %37 = nn.index %ln1_g axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %38 = nn.index %ln1_b axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %39 = nn.layernorm %h_2, %37, %38 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %40 = nn.index %w_qkv axis 0 [1] : tensor<2x128x384xf32> -> tensor<128x384xf32>
    %qkv_1 = nn.matmul %39, %40 : (tensor<?x?x128xf32>, tensor<128x384xf32>) -> tensor<?x?x384xf32>
    %41 = nn.slice %qkv_1 axis 2 [0 : #nn.dims<128>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %42 = nn.reshape %41 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %q_1 = nn.transpose %42 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %43 = nn.slice %qkv_1 axis 2 [128 : #nn.dims<256>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %44 = nn.reshape %43 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %k_1 = nn.transpose %44 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %45 = nn.slice %qkv_1 axis 2 [256 : #nn.dims<384>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %46 = nn.reshape %45 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %v_1 = nn.transpose %46 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %47 = nn.transpose %k_1 [0, 1, 3, 2] : tensor<?x4x?x32xf32> -> tensor<?x4x32x?xf32>
    %48 = nn.matmul %q_1, %47 : (tensor<?x4x?x32xf32>, tensor<?x4x32x?xf32>) -> tensor<?x4x?x?xf32>
    %49 = nn.constant 5.6568542494923806 : tensor<f32>
    %50 = nn.broadcast %49 to #nn.dims<B, 4, T, T> : tensor<f32> -> tensor<?x4x?x?xf32>
    %51 = nn.div %48, %50 : tensor<?x4x?x?xf32>
    %scores_1 = nn.causal_mask %51 : tensor<?x4x?x?xf32>
    %52 = nn.softmax %scores_1 axis 3 : tensor<?x4x?x?xf32>
    %heads_1 = nn.matmul %52, %v_1 : (tensor<?x4x?x?xf32>, tensor<?x4x?x32xf32>) -> tensor<?x4x?x32xf32>
    %53 = nn.transpose %heads_1 [0, 2, 1, 3] : tensor<?x4x?x32xf32> -> tensor<?x?x4x32xf32>
    %54 = nn.reshape %53 to #nn.dims<B, T, 128> : tensor<?x?x4x32xf32> -> tensor<?x?x128xf32>
    %55 = nn.index %w_proj axis 0 [1] : tensor<2x128x128xf32> -> tensor<128x128xf32>
    %56 = nn.matmul %54, %55 : (tensor<?x?x128xf32>, tensor<128x128xf32>) -> tensor<?x?x128xf32>
    %h_3 = nn.add %h_2, %56 : tensor<?x?x128xf32>
    %57 = nn.index %ln2_g axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %58 = nn.index %ln2_b axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %59 = nn.layernorm %h_3, %57, %58 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %60 = nn.index %w_up axis 0 [1] : tensor<2x128x512xf32> -> tensor<128x512xf32>
    %61 = nn.matmul %59, %60 : (tensor<?x?x128xf32>, tensor<128x512xf32>) -> tensor<?x?x512xf32>
    %62 = nn.index %b_up axis 0 [1] : tensor<2x512xf32> -> tensor<512xf32>
    %63 = nn.broadcast %62 to #nn.dims<B, T, 512> : tensor<512xf32> -> tensor<?x?x512xf32>
    %64 = nn.add %61, %63 : tensor<?x?x512xf32>
    %65 = nn.gelu %64 : tensor<?x?x512xf32>
    %66 = nn.index %w_down axis 0 [1] : tensor<2x512x128xf32> -> tensor<512x128xf32>
    %67 = nn.matmul %65, %66 : (tensor<?x?x512xf32>, tensor<512x128xf32>) -> tensor<?x?x128xf32>
    %68 = nn.index %b_down axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %69 = nn.broadcast %68 to #nn.dims<B, T, 128> : tensor<128xf32> -> tensor<?x?x128xf32>
    %70 = nn.add %67, %69 : tensor<?x?x128xf32>
    %h_4 = nn.add %h_3, %70 : tensor<?x?x128xf32>
    %71 = nn.layernorm %h_4, %lnf_g, %lnf_b {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %logits = nn.matmul %71, %w_out : (tensor<?x?x128xf32>, tensor<128x96xf32>) -> tensor<?x?x96xf32>
    func.return %logits : tensor<?x?x96xf32>
  }
  func.func @loss(%tokens: tensor<?x?xi32> {nn.input = "tokens", nn.dims = #nn.dims<B, T>}, %targets: tensor<?x?xi32> {nn.input = "targets", nn.dims = #nn.dims<B, T>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %tok_emb = nn.get_param @tok_emb : tensor<96x128xf32>
    %pos_emb = nn.get_param @pos_emb : tensor<64x128xf32>
    %ln1_g = nn.get_param @ln1_g : tensor<2x128xf32>
    %ln1_b = nn.get_param @ln1_b : tensor<2x128xf32>
    %w_qkv = nn.get_param @w_qkv : tensor<2x128x384xf32>
    %w_proj = nn.get_param @w_proj : tensor<2x128x128xf32>
    %ln2_g = nn.get_param @ln2_g : tensor<2x128xf32>
    %ln2_b = nn.get_param @ln2_b : tensor<2x128xf32>
    %w_up = nn.get_param @w_up : tensor<2x128x512xf32>
    %b_up = nn.get_param @b_up : tensor<2x512xf32>
    %w_down = nn.get_param @w_down : tensor<2x512x128xf32>
    %b_down = nn.get_param @b_down : tensor<2x128xf32>
    %lnf_g = nn.get_param @lnf_g : tensor<128xf32>
    %lnf_b = nn.get_param @lnf_b : tensor<128xf32>
    %w_out = nn.get_param @w_out : tensor<128x96xf32>
    %0 = nn.embedding %tok_emb, %tokens : (tensor<96x128xf32>, tensor<?x?xi32>) -> tensor<?x?x128xf32>
    %1 = nn.slice %pos_emb axis 0 [0 : #nn.dims<T>] : tensor<64x128xf32> -> tensor<?x128xf32>
    %2 = nn.broadcast %1 to #nn.dims<B, T, 128> : tensor<?x128xf32> -> tensor<?x?x128xf32>
    %h = nn.add %0, %2 : tensor<?x?x128xf32>
    %3 = nn.index %ln1_g axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %4 = nn.index %ln1_b axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %5 = nn.layernorm %h, %3, %4 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %6 = nn.index %w_qkv axis 0 [0] : tensor<2x128x384xf32> -> tensor<128x384xf32>
    %qkv = nn.matmul %5, %6 : (tensor<?x?x128xf32>, tensor<128x384xf32>) -> tensor<?x?x384xf32>
    %7 = nn.slice %qkv axis 2 [0 : #nn.dims<128>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %8 = nn.reshape %7 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %q = nn.transpose %8 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %9 = nn.slice %qkv axis 2 [128 : #nn.dims<256>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %10 = nn.reshape %9 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %k = nn.transpose %10 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %11 = nn.slice %qkv axis 2 [256 : #nn.dims<384>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %12 = nn.reshape %11 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %v = nn.transpose %12 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %13 = nn.transpose %k [0, 1, 3, 2] : tensor<?x4x?x32xf32> -> tensor<?x4x32x?xf32>
    %14 = nn.matmul %q, %13 : (tensor<?x4x?x32xf32>, tensor<?x4x32x?xf32>) -> tensor<?x4x?x?xf32>
    %15 = nn.constant 5.6568542494923806 : tensor<f32>
    %16 = nn.broadcast %15 to #nn.dims<B, 4, T, T> : tensor<f32> -> tensor<?x4x?x?xf32>
    %17 = nn.div %14, %16 : tensor<?x4x?x?xf32>
    %scores = nn.causal_mask %17 : tensor<?x4x?x?xf32>
    %18 = nn.softmax %scores axis 3 : tensor<?x4x?x?xf32>
    %heads = nn.matmul %18, %v : (tensor<?x4x?x?xf32>, tensor<?x4x?x32xf32>) -> tensor<?x4x?x32xf32>
    %19 = nn.transpose %heads [0, 2, 1, 3] : tensor<?x4x?x32xf32> -> tensor<?x?x4x32xf32>
    %20 = nn.reshape %19 to #nn.dims<B, T, 128> : tensor<?x?x4x32xf32> -> tensor<?x?x128xf32>
    %21 = nn.index %w_proj axis 0 [0] : tensor<2x128x128xf32> -> tensor<128x128xf32>
    %22 = nn.matmul %20, %21 : (tensor<?x?x128xf32>, tensor<128x128xf32>) -> tensor<?x?x128xf32>
    %h_1 = nn.add %h, %22 : tensor<?x?x128xf32>
    %23 = nn.index %ln2_g axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %24 = nn.index %ln2_b axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %25 = nn.layernorm %h_1, %23, %24 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %26 = nn.index %w_up axis 0 [0] : tensor<2x128x512xf32> -> tensor<128x512xf32>
    %27 = nn.matmul %25, %26 : (tensor<?x?x128xf32>, tensor<128x512xf32>) -> tensor<?x?x512xf32>
    %28 = nn.index %b_up axis 0 [0] : tensor<2x512xf32> -> tensor<512xf32>
    %29 = nn.broadcast %28 to #nn.dims<B, T, 512> : tensor<512xf32> -> tensor<?x?x512xf32>
    %30 = nn.add %27, %29 : tensor<?x?x512xf32>
    %31 = nn.gelu %30 : tensor<?x?x512xf32>
    %32 = nn.index %w_down axis 0 [0] : tensor<2x512x128xf32> -> tensor<512x128xf32>
    %33 = nn.matmul %31, %32 : (tensor<?x?x512xf32>, tensor<512x128xf32>) -> tensor<?x?x128xf32>
    %34 = nn.index %b_down axis 0 [0] : tensor<2x128xf32> -> tensor<128xf32>
    %35 = nn.broadcast %34 to #nn.dims<B, T, 128> : tensor<128xf32> -> tensor<?x?x128xf32>
    %36 = nn.add %33, %35 : tensor<?x?x128xf32>
    %h_2 = nn.add %h_1, %36 : tensor<?x?x128xf32>
    %37 = nn.index %ln1_g axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %38 = nn.index %ln1_b axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %39 = nn.layernorm %h_2, %37, %38 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %40 = nn.index %w_qkv axis 0 [1] : tensor<2x128x384xf32> -> tensor<128x384xf32>
    %qkv_1 = nn.matmul %39, %40 : (tensor<?x?x128xf32>, tensor<128x384xf32>) -> tensor<?x?x384xf32>
    %41 = nn.slice %qkv_1 axis 2 [0 : #nn.dims<128>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %42 = nn.reshape %41 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %q_1 = nn.transpose %42 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %43 = nn.slice %qkv_1 axis 2 [128 : #nn.dims<256>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %44 = nn.reshape %43 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %k_1 = nn.transpose %44 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %45 = nn.slice %qkv_1 axis 2 [256 : #nn.dims<384>] : tensor<?x?x384xf32> -> tensor<?x?x128xf32>
    %46 = nn.reshape %45 to #nn.dims<B, T, 4, 32> : tensor<?x?x128xf32> -> tensor<?x?x4x32xf32>
    %v_1 = nn.transpose %46 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    %47 = nn.transpose %k_1 [0, 1, 3, 2] : tensor<?x4x?x32xf32> -> tensor<?x4x32x?xf32>
    %48 = nn.matmul %q_1, %47 : (tensor<?x4x?x32xf32>, tensor<?x4x32x?xf32>) -> tensor<?x4x?x?xf32>
    %49 = nn.constant 5.6568542494923806 : tensor<f32>
    %50 = nn.broadcast %49 to #nn.dims<B, 4, T, T> : tensor<f32> -> tensor<?x4x?x?xf32>
    %51 = nn.div %48, %50 : tensor<?x4x?x?xf32>
    %scores_1 = nn.causal_mask %51 : tensor<?x4x?x?xf32>
    %52 = nn.softmax %scores_1 axis 3 : tensor<?x4x?x?xf32>
    %heads_1 = nn.matmul %52, %v_1 : (tensor<?x4x?x?xf32>, tensor<?x4x?x32xf32>) -> tensor<?x4x?x32xf32>
    %53 = nn.transpose %heads_1 [0, 2, 1, 3] : tensor<?x4x?x32xf32> -> tensor<?x?x4x32xf32>
    %54 = nn.reshape %53 to #nn.dims<B, T, 128> : tensor<?x?x4x32xf32> -> tensor<?x?x128xf32>
    %55 = nn.index %w_proj axis 0 [1] : tensor<2x128x128xf32> -> tensor<128x128xf32>
    %56 = nn.matmul %54, %55 : (tensor<?x?x128xf32>, tensor<128x128xf32>) -> tensor<?x?x128xf32>
    %h_3 = nn.add %h_2, %56 : tensor<?x?x128xf32>
    %57 = nn.index %ln2_g axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %58 = nn.index %ln2_b axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %59 = nn.layernorm %h_3, %57, %58 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %60 = nn.index %w_up axis 0 [1] : tensor<2x128x512xf32> -> tensor<128x512xf32>
    %61 = nn.matmul %59, %60 : (tensor<?x?x128xf32>, tensor<128x512xf32>) -> tensor<?x?x512xf32>
    %62 = nn.index %b_up axis 0 [1] : tensor<2x512xf32> -> tensor<512xf32>
    %63 = nn.broadcast %62 to #nn.dims<B, T, 512> : tensor<512xf32> -> tensor<?x?x512xf32>
    %64 = nn.add %61, %63 : tensor<?x?x512xf32>
    %65 = nn.gelu %64 : tensor<?x?x512xf32>
    %66 = nn.index %w_down axis 0 [1] : tensor<2x512x128xf32> -> tensor<512x128xf32>
    %67 = nn.matmul %65, %66 : (tensor<?x?x512xf32>, tensor<512x128xf32>) -> tensor<?x?x128xf32>
    %68 = nn.index %b_down axis 0 [1] : tensor<2x128xf32> -> tensor<128xf32>
    %69 = nn.broadcast %68 to #nn.dims<B, T, 128> : tensor<128xf32> -> tensor<?x?x128xf32>
    %70 = nn.add %67, %69 : tensor<?x?x128xf32>
    %h_4 = nn.add %h_3, %70 : tensor<?x?x128xf32>
    %71 = nn.layernorm %h_4, %lnf_g, %lnf_b {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %logits = nn.matmul %71, %w_out : (tensor<?x?x128xf32>, tensor<128x96xf32>) -> tensor<?x?x96xf32>
    %loss = nn.cross_entropy %logits, %targets : (tensor<?x?x96xf32>, tensor<?x?xi32>) -> tensor<f32>
    func.return %loss : tensor<f32>
  }
}
