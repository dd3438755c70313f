! Dead-time correction of per-detector light curves (non-paralysable dead time),
! Fortran kernel of the Daisy plug-in daisy_deadtime, wrapped by numpy's F2PY.
!
! Each recorded event makes its detector dead for tau seconds, so a detector that
! recorded m = counts / dt events per second was live for the fraction
!     live = 1 - m * tau
! of the bin, and the incident rate is  rate = m / live  (count/s).
!
! Memory order: counts(ndet, nbin) is column-major, i.e. the detectors of one bin
! are adjacent. That is the memory of a C-ordered numpy array (nbin, ndet): the
! Python wrapper passes its transpose, a Fortran-ordered view, so F2PY takes it
! without a copy. rates and live are intent(inout): F2PY writes into the caller's
! arrays and refuses (rather than copies) any of the wrong type or order.
!
! Error codes in ierr (0: fine); ibin, idet (1-based) locate the bad value:
!   1  dt <= 0          2  tau < 0
!   3  counts < 0 or not finite at (idet, ibin)
!   4  saturated at (idet, ibin): m * tau >= 1, no live time left
subroutine correct_rates(counts, ndet, nbin, dt, tau, rates, live, ierr, ibin, idet)
  implicit none
  integer, intent(in) :: ndet, nbin
  real(8), intent(in) :: counts(ndet, nbin)
  real(8), intent(in) :: dt, tau
  real(8), intent(inout) :: rates(ndet, nbin), live(ndet, nbin)
  integer, intent(out) :: ierr, ibin, idet
  !f2py threadsafe
  !f2py integer intent(hide), depend(counts) :: ndet = shape(counts, 0)
  !f2py integer intent(hide), depend(counts) :: nbin = shape(counts, 1)
  integer :: i, j
  real(8) :: m
  logical :: ok

  ierr = 0
  ibin = 0
  idet = 0
  if (.not. (dt > 0d0)) then
    ierr = 1
    return
  end if
  if (.not. (tau >= 0d0)) then
    ierr = 2
    return
  end if
  ! one branch-free pass (the compiler vectorises it), then, only if something was wrong,
  ! a second one to find the first bad value
  ok = .true.
  do i = 1, nbin
    do j = 1, ndet
      m = counts(j, i) / dt
      live(j, i) = 1d0 - m * tau
      rates(j, i) = m / live(j, i)
      ok = ok .and. counts(j, i) >= 0d0 .and. counts(j, i) <= huge(1d0) .and. live(j, i) > 0d0
    end do
  end do
  if (ok) return
  do i = 1, nbin
    do j = 1, ndet
      if (.not. (counts(j, i) >= 0d0 .and. counts(j, i) <= huge(1d0))) then
        ierr = 3
      else if (.not. (live(j, i) > 0d0)) then
        ierr = 4
      end if
      if (ierr /= 0) then
        ibin = i
        idet = j
        return
      end if
    end do
  end do
end subroutine correct_rates
