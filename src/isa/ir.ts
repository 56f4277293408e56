/**
 * The IR of hindsight: every guest instruction decodes to one `Insn` record whose `op` names a
 * base (non-compressed) RISC-V operation; compressed instructions are expanded at decode time to
 * the base op they stand for, so their semantics exist only once. A translation block is a list
 * of these records. Both execution tiers (the reference executor and the wasm JIT) consume the same
 * records; what each op means to them is its row in the instruction table (table.ts, ext/).
 */
export const enum Op {
  ILLEGAL,
  LUI, AUIPC, JAL, JALR,
  BEQ, BNE, BLT, BGE, BLTU, BGEU,
  LB, LH, LW, LD, LBU, LHU, LWU,
  SB, SH, SW, SD,
  ADDI, SLTI, SLTIU, XORI, ORI, ANDI, SLLI, SRLI, SRAI,
  ADD, SUB, SLL, SLT, SLTU, XOR, SRL, SRA, OR, AND,
  ADDIW, SLLIW, SRLIW, SRAIW,
  ADDW, SUBW, SLLW, SRLW, SRAW,
  MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU,
  MULW, DIVW, DIVUW, REMW, REMUW,
  LR_W, SC_W, AMOSWAP_W, AMOADD_W, AMOXOR_W, AMOAND_W, AMOOR_W, AMOMIN_W, AMOMAX_W, AMOMINU_W, AMOMAXU_W,
  LR_D, SC_D, AMOSWAP_D, AMOADD_D, AMOXOR_D, AMOAND_D, AMOOR_D, AMOMIN_D, AMOMAX_D, AMOMINU_D, AMOMAXU_D,
  FENCE, FENCE_I,
  ECALL, EBREAK, MRET, SRET, WFI, SFENCE_VMA,
  CSRRW, CSRRS, CSRRC, CSRRWI, CSRRSI, CSRRCI,
  // Zba, Zbb, Zbs
  ADD_UW, SH1ADD, SH2ADD, SH3ADD, SH1ADD_UW, SH2ADD_UW, SH3ADD_UW, SLLI_UW,
  ANDN, ORN, XNOR, CLZ, CLZW, CTZ, CTZW, CPOP, CPOPW, MAX, MAXU, MIN, MINU, SEXT_B, SEXT_H, ZEXT_H,
  ROL, ROLW, ROR, RORI, RORIW, RORW, ORC_B, REV8,
  BCLR, BCLRI, BEXT, BEXTI, BINV, BINVI, BSET, BSETI,
  FLW, FSW, FMADD_S, FMSUB_S, FNMSUB_S, FNMADD_S, FADD_S, FSUB_S, FMUL_S, FDIV_S, FSQRT_S,
  FSGNJ_S, FSGNJN_S, FSGNJX_S, FMIN_S, FMAX_S, FCVT_W_S, FCVT_WU_S, FCVT_L_S, FCVT_LU_S,
  FMV_X_W, FEQ_S, FLT_S, FLE_S, FCLASS_S, FCVT_S_W, FCVT_S_WU, FCVT_S_L, FCVT_S_LU, FMV_W_X,
  FLD, FSD, FMADD_D, FMSUB_D, FNMSUB_D, FNMADD_D, FADD_D, FSUB_D, FMUL_D, FDIV_D, FSQRT_D,
  FSGNJ_D, FSGNJN_D, FSGNJX_D, FMIN_D, FMAX_D, FCVT_W_D, FCVT_WU_D, FCVT_L_D, FCVT_LU_D,
  FMV_X_D, FEQ_D, FLT_D, FLE_D, FCLASS_D, FCVT_D_W, FCVT_D_WU, FCVT_D_L, FCVT_D_LU, FMV_D_X,
  FCVT_S_D, FCVT_D_S,
  /** Not an op: the number of ops (keep it last). */
  Count,
}

/** Number of ops; every one in [0, OP_COUNT) has a row in the instruction table. */
export const OP_COUNT: number = Op.Count;

export interface Insn {
  op: Op;
  rd: number;
  rs1: number;
  rs2: number;
  /** Sign-extended immediate (CSR number for CSR ops, shift amount for shifts, uimm in rs1 for CSR*I). */
  imm: bigint;
  /** `imm` as a number (every RISC-V immediate fits in 32 bits): the reference executor's BigInt-free ops (exec/fast-ops.ts). */
  immN: number;
  /** 2 for compressed encodings, 4 otherwise. */
  len: number;
  /** The raw encoding as fetched (16 or 32 bits), for mtval on illegal instruction. */
  raw: number;
}
