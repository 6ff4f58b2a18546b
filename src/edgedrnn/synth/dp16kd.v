// Behavioural model of the Lattice ECP5 DP16KD block RAM for post-synthesis simulation of
// edgedrnn's ECP5 netlists (Yosys ships the primitive only as a black box). Written from the
// primitive's documented behaviour, covering the configurations Yosys' synth_ecp5 produces
// for our memories:
//
//   * DATA_WIDTH_A = DATA_WIDTH_B = 18: two ports, address AD[13:4], byte enables AD[1:0]
//     (9-bit bytes) while writing;
//   * DATA_WIDTH_A = DATA_WIDTH_B = 36: pseudo dual port, written through port A (address
//     ADA[13:5], byte enables ADA[3:0], data {DIB, DIA}), read through port B (address
//     ADB[13:5], clock enable CEB, reset RSTB, output register enable OCEB, data {DOB, DOA}).
//
// Each port's output latch loads on a clock edge with CE high; on a write it keeps its value
// (WRITEMODE NORMAL), shows the new word (WRITETHROUGH) or the old one (READBEFOREWRITE). A
// read of the word the other port writes on the same edge returns the old word. RST (sync or
// async mode alike) clears the latch on the edge, whatever CE. With REGMODE = "OUTREG" the
// port's DO is a register that loads the latch on every edge with OCE high (it is never reset
// here: edgedrnn only moves flip-flops into ports whose RST is tied to 0). Contents start as
// INITVAL_xx give them. Chip selects (CSDECODE), GSR, inverted clocks or output enables and
// the other widths are not modelled: edgedrnn.synth.postsynth checks a netlist for them first.

module DP16KD(
  input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
  input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
  input CEA, OCEA, CLKA, WEA, RSTA,
  input CSA2, CSA1, CSA0,
  output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
  input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
  input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
  input CEB, OCEB, CLKB, WEB, RSTB,
  input CSB2, CSB1, CSB0,
  output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "NOREG";
  parameter REGMODE_B = "NOREG";
  parameter RESETMODE = "SYNC";
  parameter ASYNC_RESET_RELEASE = "SYNC";
  parameter CSDECODE_A = "0b000";
  parameter CSDECODE_B = "0b000";
  parameter WRITEMODE_A = "NORMAL";
  parameter WRITEMODE_B = "NORMAL";
  parameter GSR = "ENABLED";
  parameter CLKAMUX = "CLKA";
  parameter CLKBMUX = "CLKB";
  parameter OCEAMUX = "OCEA";
  parameter OCEBMUX = "OCEB";
  // initial contents: 64 × 16 words of 18 bits, word 16·k + i in INITVAL_k[20·i +: 18]
  parameter INITVAL_00 = 320'h0;
  parameter INITVAL_01 = 320'h0;
  parameter INITVAL_02 = 320'h0;
  parameter INITVAL_03 = 320'h0;
  parameter INITVAL_04 = 320'h0;
  parameter INITVAL_05 = 320'h0;
  parameter INITVAL_06 = 320'h0;
  parameter INITVAL_07 = 320'h0;
  parameter INITVAL_08 = 320'h0;
  parameter INITVAL_09 = 320'h0;
  parameter INITVAL_0A = 320'h0;
  parameter INITVAL_0B = 320'h0;
  parameter INITVAL_0C = 320'h0;
  parameter INITVAL_0D = 320'h0;
  parameter INITVAL_0E = 320'h0;
  parameter INITVAL_0F = 320'h0;
  parameter INITVAL_10 = 320'h0;
  parameter INITVAL_11 = 320'h0;
  parameter INITVAL_12 = 320'h0;
  parameter INITVAL_13 = 320'h0;
  parameter INITVAL_14 = 320'h0;
  parameter INITVAL_15 = 320'h0;
  parameter INITVAL_16 = 320'h0;
  parameter INITVAL_17 = 320'h0;
  parameter INITVAL_18 = 320'h0;
  parameter INITVAL_19 = 320'h0;
  parameter INITVAL_1A = 320'h0;
  parameter INITVAL_1B = 320'h0;
  parameter INITVAL_1C = 320'h0;
  parameter INITVAL_1D = 320'h0;
  parameter INITVAL_1E = 320'h0;
  parameter INITVAL_1F = 320'h0;
  parameter INITVAL_20 = 320'h0;
  parameter INITVAL_21 = 320'h0;
  parameter INITVAL_22 = 320'h0;
  parameter INITVAL_23 = 320'h0;
  parameter INITVAL_24 = 320'h0;
  parameter INITVAL_25 = 320'h0;
  parameter INITVAL_26 = 320'h0;
  parameter INITVAL_27 = 320'h0;
  parameter INITVAL_28 = 320'h0;
  parameter INITVAL_29 = 320'h0;
  parameter INITVAL_2A = 320'h0;
  parameter INITVAL_2B = 320'h0;
  parameter INITVAL_2C = 320'h0;
  parameter INITVAL_2D = 320'h0;
  parameter INITVAL_2E = 320'h0;
  parameter INITVAL_2F = 320'h0;
  parameter INITVAL_30 = 320'h0;
  parameter INITVAL_31 = 320'h0;
  parameter INITVAL_32 = 320'h0;
  parameter INITVAL_33 = 320'h0;
  parameter INITVAL_34 = 320'h0;
  parameter INITVAL_35 = 320'h0;
  parameter INITVAL_36 = 320'h0;
  parameter INITVAL_37 = 320'h0;
  parameter INITVAL_38 = 320'h0;
  parameter INITVAL_39 = 320'h0;
  parameter INITVAL_3A = 320'h0;
  parameter INITVAL_3B = 320'h0;
  parameter INITVAL_3C = 320'h0;
  parameter INITVAL_3D = 320'h0;
  parameter INITVAL_3E = 320'h0;
  parameter INITVAL_3F = 320'h0;

  localparam PDP = (DATA_WIDTH_A == 36);

  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
  wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};

  reg [17:0] mem [0:1023];
  reg [17:0] lat_a = 18'd0, lat_b = 18'd0, out_a = 18'd0, out_b = 18'd0;
  integer i;
  initial begin
    for (i = 0; i < 16; i = i + 1) mem[0 + i] = INITVAL_00[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[16 + i] = INITVAL_01[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[32 + i] = INITVAL_02[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[48 + i] = INITVAL_03[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[64 + i] = INITVAL_04[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[80 + i] = INITVAL_05[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[96 + i] = INITVAL_06[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[112 + i] = INITVAL_07[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[128 + i] = INITVAL_08[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[144 + i] = INITVAL_09[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[160 + i] = INITVAL_0A[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[176 + i] = INITVAL_0B[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[192 + i] = INITVAL_0C[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[208 + i] = INITVAL_0D[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[224 + i] = INITVAL_0E[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[240 + i] = INITVAL_0F[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[256 + i] = INITVAL_10[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[272 + i] = INITVAL_11[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[288 + i] = INITVAL_12[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[304 + i] = INITVAL_13[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[320 + i] = INITVAL_14[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[336 + i] = INITVAL_15[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[352 + i] = INITVAL_16[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[368 + i] = INITVAL_17[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[384 + i] = INITVAL_18[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[400 + i] = INITVAL_19[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[416 + i] = INITVAL_1A[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[432 + i] = INITVAL_1B[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[448 + i] = INITVAL_1C[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[464 + i] = INITVAL_1D[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[480 + i] = INITVAL_1E[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[496 + i] = INITVAL_1F[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[512 + i] = INITVAL_20[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[528 + i] = INITVAL_21[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[544 + i] = INITVAL_22[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[560 + i] = INITVAL_23[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[576 + i] = INITVAL_24[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[592 + i] = INITVAL_25[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[608 + i] = INITVAL_26[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[624 + i] = INITVAL_27[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[640 + i] = INITVAL_28[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[656 + i] = INITVAL_29[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[672 + i] = INITVAL_2A[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[688 + i] = INITVAL_2B[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[704 + i] = INITVAL_2C[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[720 + i] = INITVAL_2D[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[736 + i] = INITVAL_2E[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[752 + i] = INITVAL_2F[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[768 + i] = INITVAL_30[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[784 + i] = INITVAL_31[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[800 + i] = INITVAL_32[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[816 + i] = INITVAL_33[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[832 + i] = INITVAL_34[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[848 + i] = INITVAL_35[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[864 + i] = INITVAL_36[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[880 + i] = INITVAL_37[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[896 + i] = INITVAL_38[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[912 + i] = INITVAL_39[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[928 + i] = INITVAL_3A[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[944 + i] = INITVAL_3B[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[960 + i] = INITVAL_3C[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[976 + i] = INITVAL_3D[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[992 + i] = INITVAL_3E[20 * i +: 18];
    for (i = 0; i < 16; i = i + 1) mem[1008 + i] = INITVAL_3F[20 * i +: 18];
  end

  // x18: word address AD[13:4]; x36: words 2a (low half) and 2a + 1 (high half), a = AD[13:5]
  wire [9:0] wa = PDP ? {ada[13:5], 1'b0} : ada[13:4];
  wire [9:0] wb = PDP ? {adb[13:5], 1'b0} : adb[13:4];
  // byte enables while writing: x18 AD[1:0] (9-bit bytes); x36 ADA[3:0] over {DIB, DIA}
  wire [3:0] be_a = PDP ? ada[3:0] : {2'b00, ada[1:0]};
  wire [1:0] be_b = adb[1:0];

  function [17:0] merge(input [17:0] old, input [17:0] din, input [1:0] be);
    merge = {be[1] ? din[17:9] : old[17:9], be[0] ? din[8:0] : old[8:0]};
  endfunction

  // both ports share one clock in edgedrnn's designs; one process keeps "read old, then
  // write" exact for reads and writes of the same word on one edge
  always @(posedge CLKA) begin : edge_a
    reg [17:0] old_a, old_b, old_hi;
    old_a = mem[wa];
    old_b = mem[wb];
    old_hi = mem[wb | 10'd1];
    if (PDP) begin
      if (RSTB) begin
        lat_a <= 18'd0;
        lat_b <= 18'd0;
      end else if (CEB) begin
        lat_a <= old_b;
        lat_b <= old_hi;
      end
      if (CEA && WEA) begin
        mem[wa] <= merge(mem[wa], dia, be_a[1:0]);
        mem[wa | 10'd1] <= merge(mem[wa | 10'd1], dib, be_a[3:2]);
      end
    end else begin
      if (RSTA) lat_a <= 18'd0;
      else if (CEA) begin
        if (!WEA || WRITEMODE_A == "READBEFOREWRITE") lat_a <= old_a;
        else if (WRITEMODE_A == "WRITETHROUGH") lat_a <= merge(old_a, dia, be_a[1:0]);
      end
      if (RSTB) lat_b <= 18'd0;
      else if (CEB) begin
        if (!WEB || WRITEMODE_B == "READBEFOREWRITE") lat_b <= old_b;
        else if (WRITEMODE_B == "WRITETHROUGH") lat_b <= merge(old_b, dib, be_b);
      end
      if (CEA && WEA) mem[wa] <= merge(mem[wa], dia, be_a[1:0]);
      if (CEB && WEB) mem[wb] <= merge(mem[wb], dib, be_b);
    end
    // output registers: the latch as it was before this edge
    if (PDP ? OCEB : OCEA) out_a <= lat_a;
    if (OCEB) out_b <= lat_b;
  end

  // a pseudo-dual-port read is under port B's REGMODE for both halves
  wire reg_a = PDP ? (REGMODE_B == "OUTREG") : (REGMODE_A == "OUTREG");
  wire reg_b = (REGMODE_B == "OUTREG");
  wire [17:0] doa = reg_a ? out_a : lat_a;
  wire [17:0] dob = reg_b ? out_b : lat_b;
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = doa;
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;
endmodule
